// The OSM bookstore demo as a mesh model: bookbuyer and bookthief call bookstore (a TrafficSplit over
// bookstore-v1 and bookstore-v2); bookstore calls bookwarehouse; bookwarehouse calls mysql over TCP.
// SMI mode allows bookbuyer (not bookthief) the HTTPRouteGroup's routes; permissive mode allows all.
// Shared with the tools' Envoy checks as `@osm/xds-snapshot/testing` (test-only; the package's code is `.`).
import { meshModel } from '@osm/mesh-model';
import type { Endpoint, MeshModel, MeshService, Protocol, Proxy, ServiceIdentity } from '@osm/mesh-model';
import type { SnapshotInputs } from '../src/index.ts';

const sa = (namespace: string, name: string): ServiceIdentity => ({ namespace, name });
const ids = {
  bookbuyer: sa('bookbuyer', 'bookbuyer'),
  bookthief: sa('bookthief', 'bookthief'),
  bookstore: sa('bookstore', 'bookstore'),
  bookstoreV2: sa('bookstore', 'bookstore-v2'),
  bookwarehouse: sa('bookwarehouse', 'bookwarehouse'),
  mysql: sa('bookwarehouse', 'mysql'),
};

function svc(namespace: string, name: string, clusterIp: string, port: number, protocol: Protocol, identities: ServiceIdentity[]): MeshService {
  return {
    namespace,
    name,
    ports: [{ name: `${protocol}-${name}`, port, targetPort: port, protocol }],
    clusterIps: [clusterIp],
    identities,
  };
}

const ep = (ip: string, port: number, ready = true): Endpoint => ({ ip, port, ready });

export const services: MeshService[] = [
  svc('bookstore', 'bookstore', '10.96.0.10', 14001, 'http', [ids.bookstore, ids.bookstoreV2]),
  svc('bookstore', 'bookstore-v1', '10.96.0.11', 14001, 'http', [ids.bookstore]),
  svc('bookstore', 'bookstore-v2', '10.96.0.12', 14001, 'http', [ids.bookstoreV2]),
  svc('bookwarehouse', 'bookwarehouse', '10.96.0.20', 14001, 'http', [ids.bookwarehouse]),
  svc('bookwarehouse', 'mysql', '10.96.0.30', 3306, 'tcp', [ids.mysql]),
];

const proxy = (uuid: string, identity: ServiceIdentity, podName: string, services: string[]): Proxy => ({
  uuid,
  identity,
  namespace: identity.namespace,
  podName,
  services: services.map((name) => ({ namespace: identity.namespace, name })),
  // The bookstore namespace has metrics enabled: the injector annotated its pods prometheus.io/scrape.
  prometheusScrape: identity.namespace === 'bookstore',
});

/** The proxies of the demo, by a short name. */
export const proxies = {
  bookbuyer: proxy('00000000-0000-4000-8000-00000000b001', ids.bookbuyer, 'bookbuyer-5d8f7c6b9-x1', []),
  bookthief: proxy('00000000-0000-4000-8000-00000000b002', ids.bookthief, 'bookthief-7b9c8d5f4-x2', []),
  'bookstore-v1': proxy('00000000-0000-4000-8000-00000000b003', ids.bookstore, 'bookstore-v1-6c7d8e9f0-x3', ['bookstore', 'bookstore-v1']),
  'bookstore-v2': proxy('00000000-0000-4000-8000-00000000b004', ids.bookstoreV2, 'bookstore-v2-5a6b7c8d9-x4', ['bookstore', 'bookstore-v2']),
  bookwarehouse: proxy('00000000-0000-4000-8000-00000000b005', ids.bookwarehouse, 'bookwarehouse-4f5e6d7c8-x5', ['bookwarehouse']),
  mysql: proxy('00000000-0000-4000-8000-00000000b006', ids.mysql, 'mysql-0', ['mysql']),
} as const;

const src = (id: ServiceIdentity) => ({ kind: 'ServiceAccount' as const, ...id });

/** The bookstore mesh in permissive or SMI mode (same objects; only the MeshConfig switch differs). */
export function bookstoreModel(mode: 'permissive' | 'smi'): MeshModel {
  return meshModel({
    settings: { permissiveMode: mode === 'permissive' },
    namespaces: [{ name: 'bookbuyer' }, { name: 'bookthief' }, { name: 'bookstore' }, { name: 'bookwarehouse' }],
    services,
    endpoints: [
      { service: { namespace: 'bookstore', name: 'bookstore' }, endpoints: [ep('10.1.0.11', 14001), ep('10.1.0.12', 14001)] },
      { service: { namespace: 'bookstore', name: 'bookstore-v1' }, endpoints: [ep('10.1.0.11', 14001)] },
      { service: { namespace: 'bookstore', name: 'bookstore-v2' }, endpoints: [ep('10.1.0.12', 14001), ep('10.1.0.13', 14001, false)] },
      { service: { namespace: 'bookwarehouse', name: 'bookwarehouse' }, endpoints: [ep('10.1.0.21', 14001)] },
      { service: { namespace: 'bookwarehouse', name: 'mysql' }, endpoints: [ep('10.1.0.31', 3306)] },
    ],
    proxies: Object.values(proxies),
    httpRouteGroups: [
      {
        namespace: 'bookstore',
        name: 'bookstore-service-routes',
        matches: [
          { name: 'books-bought', pathRegex: '/books-bought', methods: ['GET'], headers: { 'user-agent': '.*-http-client/*.*', 'client-app': 'bookbuyer' } },
          { name: 'buy-a-book', pathRegex: '.*a-book.*new', methods: ['GET'], headers: {} },
        ],
      },
      { namespace: 'bookwarehouse', name: 'bookwarehouse-service-routes', matches: [{ name: 'restock-books', pathRegex: '/restock-books', methods: ['POST'], headers: {} }] },
    ],
    tcpRoutes: [{ namespace: 'bookwarehouse', name: 'mysql', matches: [{ name: 'mysql', ports: [3306] }] }],
    trafficTargets: [
      {
        namespace: 'bookstore',
        name: 'bookbuyer-access-bookstore',
        destination: { kind: 'ServiceAccount', ...ids.bookstore },
        sources: [src(ids.bookbuyer)],
        rules: [{ kind: 'HTTPRouteGroup', name: 'bookstore-service-routes', matches: ['buy-a-book', 'books-bought'] }],
      },
      {
        namespace: 'bookstore',
        name: 'bookbuyer-access-bookstore-v2',
        destination: { kind: 'ServiceAccount', ...ids.bookstoreV2 },
        sources: [src(ids.bookbuyer)],
        rules: [{ kind: 'HTTPRouteGroup', name: 'bookstore-service-routes', matches: ['buy-a-book', 'books-bought'] }],
      },
      {
        namespace: 'bookwarehouse',
        name: 'bookstore-access-bookwarehouse',
        destination: { kind: 'ServiceAccount', ...ids.bookwarehouse },
        sources: [src(ids.bookstore), src(ids.bookstoreV2)],
        rules: [{ kind: 'HTTPRouteGroup', name: 'bookwarehouse-service-routes', matches: ['restock-books'] }],
      },
      {
        namespace: 'bookwarehouse',
        name: 'bookwarehouse-access-mysql',
        destination: { kind: 'ServiceAccount', ...ids.mysql },
        sources: [src(ids.bookwarehouse)],
        rules: [{ kind: 'TCPRoute', name: 'mysql', matches: [] }],
      },
    ],
    trafficSplits: [
      { namespace: 'bookstore', name: 'bookstore-split', apexService: 'bookstore', backends: [{ service: 'bookstore-v1', weight: 50 }, { service: 'bookstore-v2', weight: 50 }] },
    ],
  });
}

/** Placeholder PEM (the builder treats certificates as opaque data). */
const pem = (label: string, body: string): string => `-----BEGIN ${label}-----\n${Buffer.from(body).toString('base64')}\n-----END ${label}-----\n`;

/** Inputs for a proxy: a stand-in certificate naming its identity, and the mesh trust bundle. */
export function inputsFor(p: Proxy): SnapshotInputs {
  const cn = `${p.identity.name}.${p.identity.namespace}.cluster.local`;
  return {
    certificate: { certificateChain: pem('CERTIFICATE', `service certificate CN=${cn}`), privateKey: pem('PRIVATE KEY', `key of ${cn}`) },
    trustBundle: pem('CERTIFICATE', 'osm root CA'),
  };
}
