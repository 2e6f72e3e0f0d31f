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
  return expand(codec.toJSON(codec.decode(bytes) as never));
}

const fromBase64 = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'base64'));
const text = (s: string): string => Buffer.from(s, 'base64').toString('utf8');

function expand(value: unknown, key?: string): unknown {
  if (Array.isArray(value)) return value.map((v) => expand(v));
  if (typeof value !== 'object' || value === null) return value;
  const obj = value as Record<string, unknown>;
  if (typeof obj['typeUrl'] === 'string' && Object.keys(obj).every((k) => k === 'typeUrl' || k === 'value')) {
    const url = obj['typeUrl'];
    const inner = decodeToJson(url, typeof obj['value'] === 'string' ? fromBase64(obj['value']) : new Uint8Array());
    return { '@type': url, ...(inner as object) };
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'inlineBytes' && typeof v === 'string') out['inlineString'] = key === 'privateKey' ? `<redacted: ${fromBase64(v).length} bytes>` : text(v);
    else out[k] = expand(v, k);
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


