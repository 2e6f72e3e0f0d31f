// The debug endpoints on the admin port (JSON): the proxies connected to this replica with their ACK
// state, and one proxy's config dump. Any replica can dump any proxy of the mesh, connected here or
// not, so two replicas' dumps of one proxy can be compared.
import type { MeshModel, Proxy } from '@osm/mesh-model';
import { keyOf } from '@osm/mesh-model';
import type { AdminServer } from '@osm/observability';
import type { AdsService, StreamStatus } from '@osm/xds-server';
import { snapshotToJson } from '@osm/xds-snapshot';
import type { ProxyConfigs } from './configs.ts';

export interface DebugDeps {
  readonly replicaId: string;
  readonly service: AdsService;
  readonly configs: Pick<ProxyConfigs, 'snapshotOf'>;
  readonly model: () => MeshModel | undefined;
  /** When a peer's connection reaches its maximum age (ms since the epoch), if one is set and the ADS server runs. */
  readonly connectionClosesAt: (peer: string) => number | undefined;
}

/** A stream's state with its types keyed by type URL, and when its connection reaches its maximum age (`closesAt`). */
function streamView(s: StreamStatus, deps: DebugDeps): Record<string, unknown> {
  const closesAt = deps.connectionClosesAt(s.peer);
  return {
    ...s.proxy,
    kind: s.kind,
    connectedAt: s.connectedAt,
    ...(closesAt === undefined ? {} : { closesAt: new Date(closesAt).toISOString() }),
    peer: s.peer,
    types: Object.fromEntries(s.types.map(({ typeUrl, ...t }) => [typeUrl, t])),
  };
}

function findProxy(model: MeshModel | undefined, query: URLSearchParams): Proxy | undefined {
  const uuid = query.get('proxy');
  if (uuid) return model?.proxies.get(uuid);
  const pod = query.get('pod') ?? '';
  for (const p of model?.proxies.values() ?? []) if (`${p.namespace}/${p.podName}` === pod) return p;
  return undefined;
}

export function addDebugRoutes(admin: AdminServer, deps: DebugDeps): void {
  admin.addJsonRoute('/debug/proxies', () => ({
    status: 200,
    body: { replica: deps.replicaId, proxies: deps.service.streams().filter((s) => s.proxy).map((s) => streamView(s, deps)) },
  }));
  admin.addJsonRoute('/debug/config_dump', async (query) => {
    if (!query.get('pod') && !query.get('proxy')) return { status: 400, body: { error: 'query parameter missing: pod=<namespace>/<name> or proxy=<uuid>' } };
    const proxy = findProxy(deps.model(), query);
    if (!proxy) return { status: 404, body: { error: `no proxy in the mesh for ${query.get('proxy') ? `uuid ${query.get('proxy')}` : `pod ${query.get('pod')}`}` } };
    const snapshot = await deps.configs.snapshotOf(proxy.uuid);
    return {
      status: 200,
      body: {
        replica: deps.replicaId,
        proxy: { uuid: proxy.uuid, pod: `${proxy.namespace}/${proxy.podName}`, identity: keyOf(proxy.identity) },
        connected: deps.service.isConnected(proxy.uuid),
        streams: deps.service.streamsOf(proxy.uuid).map((s) => streamView(s, deps)),
        config: snapshot ? snapshotToJson(snapshot) : null,
      },
    };
  });
}
