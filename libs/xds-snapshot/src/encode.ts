// Encoding by concatenation: a protobuf message is the concatenation of its encoded fields, and a repeated
// field the concatenation of its elements. ts-proto writes fields in a fixed order, so a listener is
// head ++ chains ++ tail, a route configuration head ++ virtual hosts, an upstream cluster head ++ options
// ++ transport socket, each part encoded once and reused (the same chain serves every proxy that calls
// the service). The spec checks that the result equals ts-proto's encoding of the whole message.
import { envoy, typeUrlOf } from '@osm/envoy-api';
import type { Protocol } from '@osm/mesh-model';
import type { ClusterPlan, OutboundChainPlan, RouteConfigPlan } from './plan.ts';
import { outboundChain, outboundListenerHead, outboundListenerTail, upstreamClusterHead, upstreamClusterOptions, upstreamTlsParts, virtualHost } from './resources.ts';

/** Encoded parts by key, owned by the caller (part of the ResourceCache). */
export interface PartCache {
  part(key: string, make: () => Uint8Array): Uint8Array;
}

const Listener = envoy.config.listener.v3.Listener;
const RouteConfiguration = envoy.config.route.v3.RouteConfiguration;
const Cluster = envoy.config.cluster.v3.Cluster;

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The outbound listener; `chainKeys[i]` is the canonical key of `chains[i]`. */
export function encodeOutboundListener(parts: PartCache, chains: readonly OutboundChainPlan[], chainKeys: readonly string[], egress: boolean): Uint8Array {
  const list: Uint8Array[] = [parts.part('lds-out-head', () => Listener.encode(Listener.fromPartial(outboundListenerHead())).finish())];
  chains.forEach((c, i) => list.push(parts.part(`lds-out-chain\n${chainKeys[i] ?? ''}`, () => Listener.encode(Listener.fromPartial({ filterChains: [outboundChain(c)] })).finish())));
  list.push(parts.part(`lds-out-tail\n${egress}`, () => Listener.encode(Listener.fromPartial(outboundListenerTail(egress))).finish()));
  return concat(list);
}

/** A route configuration; `vhostKeys[i]` is the canonical key of its i-th virtual host. */
export function encodeRouteConfiguration(parts: PartCache, plan: RouteConfigPlan, vhostKeys: readonly string[]): Uint8Array {
  const list: Uint8Array[] = [RouteConfiguration.encode(RouteConfiguration.fromPartial({ name: plan.name })).finish()];
  plan.virtualHosts.forEach((vh, i) =>
    list.push(parts.part(`rds-vhost\n${vhostKeys[i] ?? ''}`, () => RouteConfiguration.encode(RouteConfiguration.fromPartial({ virtualHosts: [virtualHost(vh)] })).finish())),
  );
  return concat(list);
}

// ---- a few protobuf wire-format primitives, for the one message assembled by hand below

const utf8 = new TextEncoder();

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

/** A length-delimited field (wire type 2): key, length, bytes. */
function field(fieldNumber: number, bytes: Uint8Array): Uint8Array[] {
  return [Uint8Array.from([...varint((fieldNumber << 3) | 2), ...varint(bytes.length)]), bytes];
}

const TLS_SOCKET = 'envoy.transport_sockets.tls';
const UPSTREAM_TLS_URL = typeUrlOf(envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext);
const CommonTlsContext = envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;

/**
 * Cluster.transport_socket (field 24) = TransportSocket{name (1), typed_config (3) = Any{type_url (1),
 * value (2) = UpstreamTlsContext{common_tls_context (1), sni (2)}}}, where CommonTlsContext is the
 * concatenation of its certificate (per identity), validation context (per service) and ALPN parts.
 */
function upstreamSocketField(parts: PartCache, plan: Extract<ClusterPlan, { kind: 'upstream' }>): Uint8Array[] {
  const cert = parts.part(`tls-cert\n${plan.certSecret}`, () => CommonTlsContext.encode(CommonTlsContext.fromPartial(upstreamTlsParts(plan).cert)).finish());
  const validation = parts.part(`tls-validation\n${plan.validationSecret}`, () => CommonTlsContext.encode(CommonTlsContext.fromPartial(upstreamTlsParts(plan).validation)).finish());
  const alpn = parts.part('tls-alpn', () => CommonTlsContext.encode(CommonTlsContext.fromPartial(upstreamTlsParts(plan).alpn)).finish());
  const tls = concat([...field(1, concat([cert, validation, alpn])), ...field(2, utf8.encode(plan.sni))]);
  const any = concat([...field(1, utf8.encode(UPSTREAM_TLS_URL)), ...field(2, tls)]);
  const socket = concat([...field(1, utf8.encode(TLS_SOCKET)), ...field(3, any)]);
  return field(24, socket);
}

/** An upstream cluster: identity-independent head and options, and the identity-specific TLS socket. */
export function encodeUpstreamCluster(parts: PartCache, plan: Extract<ClusterPlan, { kind: 'upstream' }>): Uint8Array {
  return concat([
    parts.part(`cds-head\n${plan.name}`, () => Cluster.encode(Cluster.fromPartial(upstreamClusterHead(plan))).finish()),
    parts.part(`cds-options\n${plan.protocol satisfies Protocol}`, () => Cluster.encode(Cluster.fromPartial(upstreamClusterOptions(plan.protocol))).finish()),
    ...upstreamSocketField(parts, plan),
  ]);
}
