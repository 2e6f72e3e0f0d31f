// A small bookstore mesh for the fleet simulator's tests: a test root CA with the ADS server's
// certificate and a bootstrap certificate per proxy, and each proxy's snapshot from @osm/xds-snapshot.
// (@osm/certificates' tests use this lib, so its certificates come from the test CA of ../src/pki.ts;
// the CNs are the mesh's.)
// bookbuyer calls bookstore, bookstore calls bookwarehouse (SMI); `open: true` adds a TrafficTarget
// that lets bookbuyer call bookwarehouse too (the policy change of the tests).
import { certCommonName, meshModel, proxyCertCommonName, type MeshModel, type MeshService, type Proxy, type ServiceIdentity, type TrafficTarget } from '@osm/mesh-model';
import { buildSnapshot, RESOURCE_TYPES, ResourceCache, TYPE_URLS, type Snapshot } from '@osm/xds-snapshot';
import { DEFAULT_SERVER_NAME, type ProxyStatus, type SimulatedProxySpec } from '../src/index.ts';
import { TestCa } from '../src/pki.ts';

type Pem = { readonly cert: string; readonly key: string };

export interface MeshPki {
  readonly rootPem: string;
  readonly ca: TestCa;
  /** The ADS server's certificate: DEFAULT_SERVER_NAME, localhost, 127.0.0.1. */
  readonly server: Pem;
}

export async function meshPki(): Promise<MeshPki> {
  const ca = await TestCa.create(new Date(), 'osm-ca.openservicemesh.io');
  const server = await ca.leaf(`CN=${DEFAULT_SERVER_NAME}`, 'server', [
    { type: 'dns', value: DEFAULT_SERVER_NAME },
    { type: 'dns', value: 'localhost' },
    { type: 'ip', value: '127.0.0.1' },
  ]);
  return { rootPem: ca.certificatePem, ca, server };
}

const ids = {
  bookbuyer: { namespace: 'bookbuyer', name: 'bookbuyer' },
  bookstore: { namespace: 'bookstore', name: 'bookstore' },
  bookwarehouse: { namespace: 'bookwarehouse', name: 'bookwarehouse' },
} satisfies Record<string, ServiceIdentity>;
export type Role = keyof typeof ids;
const roles = Object.keys(ids) as Role[];

const service = (id: ServiceIdentity, clusterIp: string): MeshService => ({
  namespace: id.namespace,
  name: id.name,
  ports: [{ name: 'http', port: 14001, targetPort: 14001, protocol: 'http' }],
  clusterIps: [clusterIp],
  identities: [id],
});

const target = (name: string, from: ServiceIdentity, to: ServiceIdentity, routes: string): TrafficTarget => ({
  namespace: to.namespace,
  name,
  destination: { kind: 'ServiceAccount', ...to },
  sources: [{ kind: 'ServiceAccount', ...from }],
  rules: [{ kind: 'HTTPRouteGroup', name: routes, matches: [] }],
});

/** The uuid of proxy `i` (stable across runs). */
export const proxyUuid = (i: number): string => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;

/** `n` proxies, their roles in turn: bookbuyer, bookstore, bookwarehouse, bookbuyer, ... */
export function bookstoreProxies(n: number): Proxy[] {
  return Array.from({ length: n }, (_, i) => {
    const role = roles[i % roles.length] as Role;
    const identity = ids[role];
    return { uuid: proxyUuid(i), identity, namespace: identity.namespace, podName: `${role}-${i}`, services: role === 'bookbuyer' ? [] : [identity], prometheusScrape: false };
  });
}

export const roleOf = (p: Proxy): Role => p.identity.name as Role;

export function bookstoreModel(proxies: readonly Proxy[], options: { readonly open?: boolean } = {}): MeshModel {
  const endpointsOf = (role: Role) => proxies.filter((p) => roleOf(p) === role).map((_, i) => ({ ip: `10.1.${roles.indexOf(role)}.${i + 1}`, port: 14001, ready: true }));
  return meshModel({
    settings: { permissiveMode: false },
    namespaces: roles.map((name) => ({ name, metricsEnabled: false })),
    services: [service(ids.bookstore, '10.96.0.10'), service(ids.bookwarehouse, '10.96.0.20')],
    endpoints: [
      { service: ids.bookstore, endpoints: endpointsOf('bookstore') },
      { service: ids.bookwarehouse, endpoints: endpointsOf('bookwarehouse') },
    ],
    proxies,
    httpRouteGroups: [
      { namespace: 'bookstore', name: 'bookstore-service-routes', matches: [{ name: 'buy-a-book', pathRegex: '.*a-book.*new', methods: ['GET'], headers: {} }] },
      { namespace: 'bookwarehouse', name: 'bookwarehouse-service-routes', matches: [{ name: 'restock-books', pathRegex: '/restock-books', methods: ['POST'], headers: {} }] },
    ],
    trafficTargets: [
      target('bookbuyer-access-bookstore', ids.bookbuyer, ids.bookstore, 'bookstore-service-routes'),
      target('bookstore-access-bookwarehouse', ids.bookstore, ids.bookwarehouse, 'bookwarehouse-service-routes'),
      ...(options.open ? [target('bookbuyer-access-bookwarehouse', ids.bookbuyer, ids.bookwarehouse, 'bookwarehouse-service-routes')] : []),
    ],
  });
}

/** Each proxy's snapshot; service certificates are issued once per identity and reused across calls. */
export class Snapshots {
  readonly #pki: MeshPki;
  readonly #cache = new ResourceCache();
  readonly #certs = new Map<string, Pem>();

  constructor(pki: MeshPki) {
    this.#pki = pki;
  }

  async build(model: MeshModel): Promise<Map<string, Snapshot>> {
    const out = new Map<string, Snapshot>();
    for (const proxy of model.proxies.values()) {
      const key = `${proxy.identity.namespace}/${proxy.identity.name}`;
      let cert = this.#certs.get(key);
      if (!cert) {
        cert = await this.#pki.ca.leaf(`CN=${certCommonName(proxy.identity, 'cluster.local')}`, 'client');
        this.#certs.set(key, cert);
      }
      out.set(proxy.uuid, buildSnapshot(model, proxy, { certificate: { certificateChain: cert.cert, privateKey: cert.key }, trustBundle: this.#pki.rootPem, cache: this.#cache }));
    }
    return out;
  }
}

/** A simulated proxy per mesh proxy, each with its own bootstrap certificate. */
export async function proxySpecs(pki: MeshPki, proxies: readonly Proxy[]): Promise<SimulatedProxySpec[]> {
  return Promise.all(
    proxies.map(async (p) => {
      const { cert, key } = await pki.ca.leaf(`CN=${proxyCertCommonName(p, 'cluster.local')}`, 'client');
      return { uuid: p.uuid, cluster: `${p.identity.name}.${p.identity.namespace}`, certificatePem: cert, privateKeyPem: key };
    }),
  );
}

/** The wildcard types: a proxy holds all of their resources. */
export const WILDCARD: ReadonlySet<string> = new Set([TYPE_URLS.clusters, TYPE_URLS.listeners]);

/**
 * Whether a proxy holds its snapshot: all of its clusters and listeners, and exactly the endpoints,
 * routes and secrets it subscribed to, all from the snapshot (a snapshot may carry a resource nothing
 * refers to, e.g. the inbound root of a proxy without inbound listeners, which Envoy never asks for).
 * With `versions`, every type's version is the snapshot's too (a server that versions the same content
 * its own way, or delta, says false).
 */
export function holds(status: ProxyStatus | undefined, snapshot: Snapshot | undefined, versions = true): boolean {
  if (!status || !snapshot) return false;
  return RESOURCE_TYPES.every((t) => {
    const set = snapshot.types[t];
    const got = status.types[set.typeUrl];
    if (!got) return set.resources.size === 0 || !WILDCARD.has(set.typeUrl);
    const want = WILDCARD.has(set.typeUrl) ? [...set.resources.keys()].sort() : got.subscribed;
    return (!versions || got.version === set.version) && JSON.stringify(got.names) === JSON.stringify(want) && want.every((n) => set.resources.has(n));
  });
}

export const holdsAll =
  (snapshots: ReadonlyMap<string, Snapshot>, versions = true) =>
  (statuses: readonly ProxyStatus[]): boolean =>
    statuses.every((s) => holds(s, snapshots.get(s.uuid), versions));

/** The proxies whose snapshot differs between `before` and `after`. */
export const changedProxies = (before: ReadonlyMap<string, Snapshot>, after: ReadonlyMap<string, Snapshot>): Set<string> =>
  new Set([...after].filter(([uuid, snap]) => RESOURCE_TYPES.some((t) => snap.types[t].version !== before.get(uuid)?.types[t].version)).map(([uuid]) => uuid));
