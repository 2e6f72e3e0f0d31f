// Encoding by concatenation: a protobuf message is the concatenation of its encoded fields, and a repeated
// field the concatenation of its elements. ts-proto writes fields in a fixed order, so a listener is
// head ++ chains ++ tail, a route configuration head ++ virtual hosts, an upstream cluster head ++ options
// ++ transport socket, each part encoded once and reused (the same chain serves every proxy that calls
// the service). The spec checks that the result equals ts-proto's encoding of the whole message.
import { envoy, typeUrlOf } from '@osm/envoy-api';
import type { Protocol } from '@osm/mesh-model';
import type { ClusterPlan, EndpointsPlan, OutboundChainPlan, RouteConfigPlan } from './plan.ts';
import { outboundChain, outboundListenerHead, outboundListenerTail, upstreamClusterHead, upstreamClusterOptions, upstreamTlsParts, virtualHost } from './resources.ts';

/** Encoded parts by key, owned by the caller (part of the ResourceCache). */
export interface PartCache {
  part(space: string, key: string, make: () => Uint8Array): Uint8Array;
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
  const list: Uint8Array[] = [parts.part('lds-out-head', '', () => Listener.encode(Listener.fromPartial(outboundListenerHead())).finish())];
  chains.forEach((c, i) => list.push(parts.part('lds-out-chain', chainKeys[i] ?? '', () => Listener.encode(Listener.fromPartial({ filterChains: [outboundChain(c)] })).finish())));
  list.push(parts.part('lds-out-tail', String(egress), () => Listener.encode(Listener.fromPartial(outboundListenerTail(egress))).finish()));
  return concat(list);
}

/** A route configuration; `vhostKeys[i]` is the canonical key of its i-th virtual host. */
export function encodeRouteConfiguration(parts: PartCache, plan: RouteConfigPlan, vhostKeys: readonly string[]): Uint8Array {
  const list: Uint8Array[] = [RouteConfiguration.encode(RouteConfiguration.fromPartial({ name: plan.name })).finish()];
  plan.virtualHosts.forEach((vh, i) =>
    list.push(parts.part('rds-vhost', vhostKeys[i] ?? '', () => RouteConfiguration.encode(RouteConfiguration.fromPartial({ virtualHosts: [virtualHost(vh)] })).finish())),
  );
  return concat(list);
}

// ---- the upstream cluster, written into one buffer (it is the one resource encoded per identity and
// service: the hot path of a new identity's snapshot)

const utf8 = new TextEncoder();
const varintSize = (n: number): number => (n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5);
/** Bytes of a length-delimited field with a one-byte key. */
const ld = (len: number): number => 1 + varintSize(len) + len;

class Out {
  readonly buf: Uint8Array;
  at = 0;
  constructor(size: number) {
    this.buf = new Uint8Array(size);
  }
  varint(n: number): this {
    while (n > 0x7f) {
      this.buf[this.at++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    this.buf[this.at++] = n;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.buf.set(b, this.at);
    this.at += b.length;
    return this;
  }
  /** Key (field number, wire type 2) and length of a length-delimited field. */
  key(fieldNumber: number, len: number): this {
    return this.varint((fieldNumber << 3) | 2).varint(len);
  }
}

const TLS_SOCKET = utf8.encode('envoy.transport_sockets.tls');
const UPSTREAM_TLS_URL = utf8.encode(typeUrlOf(envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext));
const CommonTlsContext = envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;

/**
 * An upstream cluster: its identity-independent head and options, then transport_socket (field 24) =
 * TransportSocket{name (1), typed_config (3) = Any{type_url (1), value (2) = UpstreamTlsContext{
 * common_tls_context (1), sni (2)}}}, where CommonTlsContext is the concatenation of its certificate
 * (per identity), validation context (per service) and ALPN parts, each encoded once.
 */
export function encodeUpstreamCluster(parts: PartCache, plan: Extract<ClusterPlan, { kind: 'upstream' }>): Uint8Array {
  const head = parts.part('cds-head', plan.name, () => Cluster.encode(Cluster.fromPartial(upstreamClusterHead(plan))).finish());
  const options = parts.part('cds-options', plan.protocol satisfies Protocol, () => Cluster.encode(Cluster.fromPartial(upstreamClusterOptions(plan.protocol))).finish());
  const cert = parts.part('tls-cert', plan.certSecret, () => CommonTlsContext.encode(CommonTlsContext.fromPartial(upstreamTlsParts(plan).cert)).finish());
  const validation = parts.part('tls-validation', plan.validationSecret, () => CommonTlsContext.encode(CommonTlsContext.fromPartial(upstreamTlsParts(plan).validation)).finish());
  const alpn = parts.part('tls-alpn', '', () => CommonTlsContext.encode(CommonTlsContext.fromPartial(upstreamTlsParts(plan).alpn)).finish());
  const sni = parts.part('utf8', plan.sni, () => utf8.encode(plan.sni));

  const common = cert.length + validation.length + alpn.length;
  const tls = ld(common) + ld(sni.length);
  const any = ld(UPSTREAM_TLS_URL.length) + ld(tls);
  const socket = ld(TLS_SOCKET.length) + ld(any);
  const out = new Out(head.length + options.length + 2 + varintSize(socket) + socket);
  out.bytes(head).bytes(options);
  out.key(24, socket).key(1, TLS_SOCKET.length).bytes(TLS_SOCKET);
  out.key(3, any).key(1, UPSTREAM_TLS_URL.length).bytes(UPSTREAM_TLS_URL);
  out.key(2, tls).key(1, common).bytes(cert).bytes(validation).bytes(alpn);
  out.key(2, sni.length).bytes(sni);
  return out.buf;
}

/**
 * EDS, written by hand (the most numerous resource): ClusterLoadAssignment{cluster_name (1), endpoints (2)
 * = LocalityLbEndpoints{lb_endpoints (2) = LbEndpoint{endpoint (1) = Endpoint{address (1) = Address{
 * socket_address (1) = SocketAddress{address (2), port_value (3)}}}, health_status (2) = HEALTHY}}}.
 */
export function encodeClusterLoadAssignment(plan: EndpointsPlan): Uint8Array {
  const name = utf8.encode(plan.name);
  const eps = plan.endpoints.map(([ip, port]) => {
    const ipBytes = utf8.encode(ip);
    const sa = ld(ipBytes.length) + 1 + varintSize(port);
    const addr = ld(sa);
    const ep = ld(addr);
    const lb = ld(ep) + 2;
    return { ipBytes, port, sa, addr, ep, lb };
  });
  let lle = 0;
  for (const e of eps) lle += ld(e.lb);
  const out = new Out(ld(name.length) + (eps.length > 0 ? ld(lle) : 0));
  out.key(1, name.length).bytes(name);
  if (eps.length > 0) {
    out.key(2, lle);
    for (const e of eps) {
      out.key(2, e.lb).key(1, e.ep).key(1, e.addr).key(1, e.sa).key(2, e.ipBytes.length).bytes(e.ipBytes);
      out.varint(3 << 3).varint(e.port);
      out.varint(2 << 3).varint(1);
    }
  }
  return out.buf;
}
