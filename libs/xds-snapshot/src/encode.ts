// Encoding by concatenation: a protobuf message is the concatenation of its encoded fields, and a repeated
// field the concatenation of its elements. ts-proto writes fields in a fixed order, so a listener is
// head ++ chains ++ tail, a route configuration head ++ virtual hosts, an upstream cluster head ++ options
// ++ transport socket, each part encoded once and reused (the same chain serves every proxy that calls
// the service). The spec checks that the result equals ts-proto's encoding of the whole message.
import { envoy, typeUrlOf } from '@osm/envoy-api';
import type { Protocol } from '@osm/mesh-model';
import type { ClusterPlan, EndpointsPlan, OutboundChainPlan, RouteConfigPlan } from './plan.ts';
import type { RouteRule, VirtualHostPlan, WeightedTarget } from './plan.ts';
import { FILTER } from './names.ts';
import { outboundChain, outboundHcmParts, outboundListenerHead, outboundListenerTail, sdsConfigSource, trustedCa, upstreamClusterHeadParts, upstreamClusterOptions, upstreamTlsParts, uriSanHead, virtualHost } from './resources.ts';

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
  chains.forEach((c, i) => list.push(parts.part('lds-out-chain', chainKeys[i] ?? '', () => encodeOutboundChainField(c))));
  list.push(parts.part('lds-out-tail', String(egress), () => Listener.encode(Listener.fromPartial(outboundListenerTail(egress))).finish()));
  return concat(list);
}

/** A route configuration; `vhostKeys[i]` is the canonical key of its i-th virtual host. */
export function encodeRouteConfiguration(parts: PartCache, plan: RouteConfigPlan, vhostKeys: readonly string[]): Uint8Array {
  const list: Uint8Array[] = [RouteConfiguration.encode(RouteConfiguration.fromPartial({ name: plan.name })).finish()];
  plan.virtualHosts.forEach((vh, i) =>
    list.push(parts.part('rds-vhost', vhostKeys[i] ?? '', () => encodeVirtualHostField(vh))),
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
  const head = parts.part('cds-head', plan.name, () => {
    const h = clusterHeadBytes();
    return scratch().optStr(1, plan.name).raw(h.type).fork(3).raw(h.edsSource).optStr(2, plan.name).join().raw(h.rest).finish();
  });
  const options = parts.part('cds-options', plan.protocol satisfies Protocol, () => Cluster.encode(Cluster.fromPartial(upstreamClusterOptions(plan.protocol))).finish());
  const cert = parts.part('tls-cert', '', () => CommonTlsContext.encode(CommonTlsContext.fromPartial(upstreamTlsParts(plan).cert)).finish());
  const validation = parts.part('tls-validation', plan.validationSecret, () => scratch().fork(7).optStr(1, plan.validationSecret).raw(sdsSource()).join().finish());
  const alpn = parts.part('tls-alpn', '', () => CommonTlsContext.encode(CommonTlsContext.fromPartial(upstreamTlsParts(plan).alpn)).finish());
  const sni = parts.part('utf8', plan.sni, () => utf8Bytes(plan.sni));

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
  const w = scratch().optStr(1, plan.name);
  if (plan.endpoints.length > 0) {
    w.fork(2);
    for (const [ip, port] of plan.endpoints) {
      w.fork(2).fork(1).fork(1).fork(1).optStr(2, ip).uint(3, port).join().join().join();
      w.uint(2, 1).join();
    }
    w.join();
  }
  return w.finish();
}

/**
 * A validation context secret: Secret{name (1), validation_context (4) = CertificateValidationContext{
 * trusted_ca (1), match_typed_subject_alt_names (15) = SubjectAltNameMatcher{san_type (1) = URI, matcher
 * (2) = StringMatcher{exact (1) or prefix (2)}}}}; `ca` is the encoded trusted_ca field (the same for every service).
 */
export function encodeValidationSecret(name: string, ca: Uint8Array, sans: readonly string[], sanPrefix: string | undefined): Uint8Array {
  const w = scratch().optStr(1, name).fork(4).raw(ca);
  for (const san of sans) w.fork(15).raw(uriHead()).fork(2).str(1, san).join().join();
  // StringMatcher.prefix is field 2.
  if (sanPrefix !== undefined) w.fork(15).raw(uriHead()).fork(2).str(2, sanPrefix).join().join();
  return w.join().finish();
}

/** The trusted_ca field of a validation context (encoded by ts-proto). */
export function encodeTrustedCa(trustBundle: string): Uint8Array {
  return CertificateValidationContext.encode(trustedCa(trustBundle)).finish();
}

const CertificateValidationContext = envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
let constants: { sds: Uint8Array; uri: Uint8Array } | undefined;
const constant = (): { sds: Uint8Array; uri: Uint8Array } =>
  (constants ??= {
    sds: envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig.encode(sdsConfigSource()).finish(),
    uri: envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher.encode(uriSanHead()).finish(),
  });
let clusterHead: { type: Uint8Array; edsSource: Uint8Array; rest: Uint8Array } | undefined;
function clusterHeadBytes(): { type: Uint8Array; edsSource: Uint8Array; rest: Uint8Array } {
  if (!clusterHead) {
    const p = upstreamClusterHeadParts();
    clusterHead = {
      type: Cluster.encode(Cluster.fromPartial(p.type)).finish(),
      edsSource: envoy.config.cluster.v3.Cluster_EdsClusterConfig.encode(p.edsSource).finish(),
      rest: Cluster.encode(Cluster.fromPartial(p.rest)).finish(),
    };
  }
  return clusterHead;
}
const sdsSource = (): Uint8Array => constant().sds;
const uriHead = (): Uint8Array => constant().uri;

// ---- one growable buffer per message, nested messages written in place (fork reserves one length byte,
// join moves the body if its length needs more); the same bytes as ts-proto's BinaryWriter, without its
// per-field chunks and copies. Strings are written directly when ASCII.

class Writer {
  buf = new Uint8Array(512);
  at = 0;
  readonly #forks: number[] = [];
  #room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.at + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.at));
    this.buf = next;
  }
  reset(): this {
    this.at = 0;
    this.#forks.length = 0;
    return this;
  }
  varint(n: number): this {
    this.#room(5);
    while (n > 0x7f) {
      this.buf[this.at++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    this.buf[this.at++] = n;
    return this;
  }
  /** A varint field (wire type 0). */
  uint(field: number, n: number): this {
    return this.varint(field << 3).varint(n);
  }
  /** A string field (wire type 2), written even when empty. */
  str(field: number, s: string): this {
    const n = s.length;
    let ascii = true;
    for (let i = 0; i < n; i++) {
      if (s.charCodeAt(i) > 0x7f) {
        ascii = false;
        break;
      }
    }
    if (!ascii) return this.bytes(field, utf8.encode(s));
    this.varint((field << 3) | 2).varint(n);
    this.#room(n);
    const buf = this.buf;
    let at = this.at;
    for (let i = 0; i < n; i++) buf[at++] = s.charCodeAt(i);
    this.at = at;
    return this;
  }
  /** A string field as ts-proto writes a proto3 string: omitted when empty. */
  optStr(field: number, s: string): this {
    return s === '' ? this : this.str(field, s);
  }
  /** A bytes field (wire type 2). */
  bytes(field: number, b: Uint8Array): this {
    this.varint((field << 3) | 2).varint(b.length);
    return this.raw(b);
  }
  /** Already encoded fields. */
  raw(b: Uint8Array): this {
    this.#room(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
    return this;
  }
  /** Starts a length-delimited (message) field. */
  fork(field: number): this {
    this.varint((field << 3) | 2);
    this.#room(1);
    this.#forks.push(this.at++);
    return this;
  }
  /** Ends the innermost open field: writes its length in front of it. */
  join(): this {
    const start = this.#forks.pop() as number;
    const len = this.at - start - 1;
    const size = varintSize(len);
    if (size > 1) {
      this.#room(size - 1);
      this.buf.copyWithin(start + size, start + 1, this.at);
      this.at += size - 1;
    }
    let n = len;
    let at = start;
    while (n > 0x7f) {
      this.buf[at++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    this.buf[at] = n;
    return this;
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.at);
  }
}

/** UTF-8 bytes of a string (ASCII copied directly). */
function utf8Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) return utf8.encode(s);
    out[i] = c;
  }
  return out;
}

const shared = new Writer();
/** The module's writer, emptied (encoders call it once, write, and finish before returning). */
function scratch(): Writer {
  return shared.reset();
}

const isUint32 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xffffffff;

/** google.protobuf.UInt32Value as a field: always present, its value omitted when 0. */
function uint32Value(w: Writer, field: number, n: number): void {
  w.fork(field);
  if (n !== 0) w.uint(1, n);
  w.join();
}

const HttpConnectionManager = envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
const Rds = envoy.extensions.filters.network.http_connection_manager.v3.Rds;
const HCM_URL = typeUrlOf(HttpConnectionManager);
const TCP_PROXY_URL = typeUrlOf(envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy);
interface HcmBytes {
  readonly tracingEndpoint: string | undefined;
  readonly head: Uint8Array;
  readonly rdsSource: Uint8Array;
  readonly tail: Uint8Array;
}
// The last parts encoded: one mesh has one tracing setting, so this is almost always a hit.
let hcmParts: HcmBytes | undefined;
function hcmBytes(tracingEndpoint: string | undefined): HcmBytes {
  if (!hcmParts || hcmParts.tracingEndpoint !== tracingEndpoint) {
    const p = outboundHcmParts(tracingEndpoint);
    hcmParts = { tracingEndpoint, head: HttpConnectionManager.encode(p.head).finish(), rdsSource: Rds.encode(p.rdsSource).finish(), tail: HttpConnectionManager.encode(p.tail).finish() };
  }
  return hcmParts;
}

/** Whether the hand-written chain encoder covers the plan (ports and prefix lengths are uint32). */
function plainChain(c: OutboundChainPlan): boolean {
  if (!isUint32(c.port)) return false;
  for (const r of c.prefixRanges) {
    const len = r.split('/')[1] ?? '32';
    if (!isUint32(Number(len))) return false;
  }
  for (const t of c.targets ?? []) if (!isUint32(t.weight)) return false;
  return true;
}

/**
 * One outbound filter chain as the Listener field filter_chains (3): FilterChain{filter_chain_match (1)
 * = FilterChainMatch{destination_port (8), prefix_ranges (3) = CidrRange{address_prefix (1), prefix_len
 * (2)}}, filters (3) = Filter{name (1), typed_config (4) = Any{type_url (1), value (2) = HCM or TcpProxy}},
 * name (7)}; what resources.ts' outboundChain gives, written without building the message.
 */
export function encodeOutboundChainField(c: OutboundChainPlan): Uint8Array {
  if (!plainChain(c)) return Listener.encode(Listener.fromPartial({ filterChains: [outboundChain(c)] })).finish();
  const w = scratch();
  w.fork(3);
  w.fork(1);
  uint32Value(w, 8, c.port);
  for (const r of c.prefixRanges) {
    const [ip = '', len = '32'] = r.split('/');
    w.fork(3).optStr(1, ip);
    uint32Value(w, 2, Number(len));
    w.join();
  }
  w.join();
  w.fork(3);
  if (c.routeConfig !== undefined) {
    const hcm = hcmBytes(c.tracingEndpoint);
    w.str(1, FILTER.httpConnectionManager).fork(4).str(1, HCM_URL).fork(2);
    w.raw(hcm.head).optStr(2, c.name);
    w.fork(3).raw(hcm.rdsSource).optStr(2, c.routeConfig).join();
    w.raw(hcm.tail);
    w.join().join();
  } else {
    w.str(1, FILTER.tcpProxy).fork(4).str(1, TCP_PROXY_URL).fork(2);
    tcpProxy(w, c.name, c.targets ?? []);
    w.join().join();
  }
  w.join();
  w.optStr(7, c.name);
  w.join();
  return w.finish();
}

/** TcpProxy{stat_prefix (1), cluster (2) | weighted_clusters (10) = {clusters (1) = {name (1), weight (2)}}}. */
function tcpProxy(w: Writer, statPrefix: string, targets: readonly WeightedTarget[]): void {
  w.optStr(1, statPrefix);
  const only = targets.length === 1 ? targets[0] : undefined;
  if (only) {
    w.str(2, only.cluster);
    return;
  }
  w.fork(10);
  for (const t of targets) {
    w.fork(1).optStr(1, t.cluster);
    if (t.weight !== 0) w.uint(2, t.weight);
    w.join();
  }
  w.join();
}

/**
 * One virtual host as the RouteConfiguration field virtual_hosts (2): VirtualHost{name (1), domains (2),
 * routes (3) = Route{match (1), route (2) = RouteAction{cluster (1) | weighted_clusters (3), timeout (8)}}},
 * what resources.ts' virtualHost gives; routes with per-route RBAC (inbound, SMI) go through ts-proto.
 */
export function encodeVirtualHostField(vh: VirtualHostPlan): Uint8Array {
  if (!vh.rules.every(plainRule)) return RouteConfiguration.encode(RouteConfiguration.fromPartial({ virtualHosts: [virtualHost(vh)] })).finish();
  const w = scratch();
  w.fork(2).optStr(1, vh.name);
  for (const d of vh.domains) w.str(2, d);
  for (const rule of vh.rules) {
    w.fork(3);
    routeMatch(w, rule);
    w.fork(2);
    const only = rule.targets.length === 1 ? rule.targets[0] : undefined;
    if (only) w.str(1, only.cluster);
    else {
      w.fork(3);
      for (const t of rule.targets) {
        w.fork(1).optStr(1, t.cluster);
        uint32Value(w, 2, t.weight);
        w.join();
      }
      w.join();
    }
    w.fork(8).join(); // timeout: 0s
    w.join().join();
  }
  w.join();
  return w.finish();
}

const plainRule = (rule: RouteRule): boolean => rule.principals === undefined && rule.targets.every((t) => isUint32(t.weight));

/** RouteMatch{prefix (1) | safe_regex (10) = RegexMatcher{regex (2)}, headers (6) = HeaderMatcher{name (1), string_match (13) = {safe_regex (5)}}}. */
function routeMatch(w: Writer, rule: RouteRule): void {
  const m = rule.match;
  w.fork(1);
  if (m.pathRegex === '') w.str(1, '/');
  else w.fork(10).optStr(2, m.pathRegex).join();
  const header = (name: string, re: string): void => {
    w.fork(6).optStr(1, name).fork(13).fork(5).optStr(2, re).join().join().join();
  };
  if (m.methods.length > 0) header(':method', m.methods.join('|'));
  for (const [name, value] of m.headers) header(name, value);
  w.join();
}
