// A readable dump of a snapshot: every resource decoded back through the generated Envoy types, typed
// configs (google.protobuf.Any) expanded in place, PEM shown as text and private keys redacted.
import { envoy, typeUrlOf } from '@osm/envoy-api';
import { stringify } from 'yaml';
import { RESOURCE_TYPES } from './snapshot.ts';
import type { Snapshot } from './snapshot.ts';

interface JsonCodec {
  readonly $type: string;
  decode(bytes: Uint8Array): unknown;
  toJSON(message: never): unknown;
}

// The message types that appear as resources or inside Any in our snapshots.
const codecs: readonly JsonCodec[] = [
  envoy.config.listener.v3.Listener,
  envoy.config.route.v3.RouteConfiguration,
  envoy.config.cluster.v3.Cluster,
  envoy.config.endpoint.v3.ClusterLoadAssignment,
  envoy.extensions.transport_sockets.tls.v3.Secret,
  envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext,
  envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext,
  envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager,
  envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy,
  envoy.extensions.filters.network.rbac.v3.RBAC,
  envoy.extensions.filters.http.rbac.v3.RBAC,
  envoy.extensions.filters.http.rbac.v3.RBACPerRoute,
  envoy.extensions.filters.http.router.v3.Router,
  envoy.extensions.filters.listener.original_dst.v3.OriginalDst,
  envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector,
  envoy.extensions.upstreams.http.v3.HttpProtocolOptions,
  envoy.config.trace.v3.ZipkinConfig,
];
const byUrl = new Map(codecs.map((c) => [typeUrlOf(c), c]));

/** Decodes bytes of a known type URL to its proto-JSON form; throws for an unknown type (a bug here). */
export function decodeToJson(typeUrl: string, bytes: Uint8Array): unknown {
  const codec = byUrl.get(typeUrl);
  if (!codec) throw new Error(`dump: no codec for type URL ${typeUrl}`);
  const message = codec.decode(bytes);
  return expand(codec.toJSON(message as never), message);
}

const fromBase64 = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'base64'));
const text = (s: string): string => Buffer.from(s, 'base64').toString('utf8');

/**
 * A google.protobuf.Duration as proto JSON writes it (and Go's protojson): seconds with 0, 3, 6 or 9
 * fractional digits and `s`, e.g. `0s`, `1s`, `1.500s`, `-0.000001s`.
 */
function durationJson(seconds: number, nanos: number): string {
  const sign = seconds < 0 || nanos < 0 ? '-' : '';
  const whole = Math.abs(seconds);
  const n = Math.abs(nanos);
  if (n === 0) return `${sign}${whole}s`;
  const nine = String(n).padStart(9, '0');
  const fraction = nine.endsWith('000000') ? nine.slice(0, 3) : nine.endsWith('000') ? nine.slice(0, 6) : nine;
  return `${sign}${whole}.${fraction}s`;
}

/**
 * True for a decoded google.protobuf.Duration. ts-proto's decoded messages carry no type, and its
 * toJSON writes a Duration as `{seconds, nanos}` without the zeros (a zero timeout became `{}`, which
 * reads as "not set"), so a Duration is recognised on the decoded message: exactly the keys `seconds`
 * and `nanos`. The only other such message, google.protobuf.Timestamp, appears in the Envoy API only as
 * a CEL constant (`timestampValue`) and in access-log data, never in our resources; it is excluded by name.
 */
function isDuration(message: unknown, key: string | undefined): message is { seconds: number; nanos: number } {
  if (typeof message !== 'object' || message === null || key === 'timestampValue') return false;
  const keys = Object.keys(message);
  const m = message as Record<string, unknown>;
  return keys.length === 2 && typeof m['seconds'] === 'number' && typeof m['nanos'] === 'number';
}

/** Rewrites ts-proto's JSON of `message` (walked alongside it) into the readable dump form. */
function expand(value: unknown, message: unknown, key?: string): unknown {
  if (isDuration(message, key)) return durationJson(message.seconds, message.nanos);
  if (Array.isArray(value)) return value.map((v, i) => expand(v, Array.isArray(message) ? message[i] : undefined));
  if (typeof value !== 'object' || value === null) return value;
  const obj = value as Record<string, unknown>;
  const msg = typeof message === 'object' && message !== null ? (message as Record<string, unknown>) : {};
  if (typeof obj['typeUrl'] === 'string' && Object.keys(obj).every((k) => k === 'typeUrl' || k === 'value')) {
    const url = obj['typeUrl'];
    const inner = decodeToJson(url, typeof obj['value'] === 'string' ? fromBase64(obj['value']) : new Uint8Array());
    return { '@type': url, ...(inner as object) };
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'inlineBytes' && typeof v === 'string') out['inlineString'] = key === 'privateKey' ? `<redacted: ${fromBase64(v).length} bytes>` : text(v);
    else out[k] = expand(v, msg[k], k);
  }
  return out;
}

/** The snapshot as plain JSON-able data: per type its version and the decoded resources with their versions. */
export function snapshotToJson(snapshot: Snapshot): unknown {
  const types: Record<string, unknown> = {};
  for (const type of RESOURCE_TYPES) {
    const set = snapshot.types[type];
    types[type] = {
      typeUrl: set.typeUrl,
      version: set.version,
      resources: [...set.resources.values()].map((r) => ({ name: r.name, version: r.version, resource: decodeToJson(r.typeUrl, r.bytes) })),
    };
  }
  return { proxy: snapshot.proxy, ...types };
}

/** The snapshot as YAML, for golden files and the controller's debug endpoint. */
export function dumpSnapshot(snapshot: Snapshot): string {
  return stringify(snapshotToJson(snapshot), { lineWidth: 0, aliasDuplicateObjects: false });
}


