// Plain Kubernetes objects for tests, and the OSM bookstore topology built from them.
import type {
  K8sEndpointSlice,
  K8sHTTPRouteGroup,
  K8sMeshConfig,
  K8sNamespace,
  K8sPod,
  K8sService,
  K8sServicePort,
  K8sServiceAccount,
  K8sTCPRoute,
  K8sTrafficSplit,
  K8sTrafficTarget,
  KubeObjects,
} from '../src/kube-types.ts';

export const namespace = (name: string, annotations: Record<string, string> = {}): K8sNamespace => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, labels: { 'openservicemesh.io/monitored-by': 'osm' }, annotations },
});

export const serviceAccount = (ns: string, name: string): K8sServiceAccount => ({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { namespace: ns, name } });

export const service = (ns: string, name: string, selector: Record<string, string> | undefined, ports: K8sServicePort[], clusterIP = '10.96.0.1'): K8sService => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { namespace: ns, name },
  spec: { ...(selector ? { selector } : {}), clusterIP, clusterIPs: [clusterIP], ports },
});

export const pod = (ns: string, name: string, labels: Record<string, string>, sa: string, ip = '10.1.0.1', extra: Partial<K8sPod> = {}): K8sPod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { namespace: ns, name, labels },
  spec: { serviceAccountName: sa },
  status: { phase: 'Running', podIP: ip },
  ...extra,
});

export const slice = (
  ns: string,
  name: string,
  svc: string,
  endpoints: { ip: string; ready?: boolean; pod?: string }[],
  ports: { name?: string; port: number }[],
): K8sEndpointSlice => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { namespace: ns, name, labels: { 'kubernetes.io/service-name': svc } },
  addressType: 'IPv4',
  endpoints: endpoints.map((e) => ({
    addresses: [e.ip],
    ...(e.ready === undefined ? {} : { conditions: { ready: e.ready } }),
    ...(e.pod ? { targetRef: { kind: 'Pod', name: e.pod, namespace: ns } } : {}),
  })),
  ports: ports.map((p) => ({ ...(p.name === undefined ? {} : { name: p.name }), port: p.port, protocol: 'TCP' })),
});

export const trafficTarget = (ns: string, name: string, dest: string, sources: { ns: string; sa: string }[], rules: { kind: string; name: string; matches?: string[] }[]): K8sTrafficTarget => ({
  apiVersion: 'access.smi-spec.io/v1alpha3',
  kind: 'TrafficTarget',
  metadata: { namespace: ns, name },
  spec: { destination: { kind: 'ServiceAccount', name: dest, namespace: ns }, sources: sources.map((s) => ({ kind: 'ServiceAccount', name: s.sa, namespace: s.ns })), rules },
});

export const httpRouteGroup = (ns: string, name: string, matches: { name: string; pathRegex?: string; methods?: string[]; headers?: Record<string, string> }[]): K8sHTTPRouteGroup => ({
  apiVersion: 'specs.smi-spec.io/v1alpha4',
  kind: 'HTTPRouteGroup',
  metadata: { namespace: ns, name },
  spec: { matches },
});

export const tcpRoute = (ns: string, name: string, ports: number[]): K8sTCPRoute => ({
  apiVersion: 'specs.smi-spec.io/v1alpha4',
  kind: 'TCPRoute',
  metadata: { namespace: ns, name },
  spec: { matches: { ports } },
});

export const trafficSplit = (ns: string, name: string, apex: string, backends: { service: string; weight: number }[]): K8sTrafficSplit => ({
  apiVersion: 'split.smi-spec.io/v1alpha2',
  kind: 'TrafficSplit',
  metadata: { namespace: ns, name },
  spec: { service: apex, backends },
});

export const meshConfig = (spec: K8sMeshConfig['spec'] = {}): K8sMeshConfig => ({
  apiVersion: 'config.openservicemesh.io/v1alpha2',
  kind: 'MeshConfig',
  metadata: { namespace: 'osm-system', name: 'osm-mesh-config' },
  spec,
});

export const emptyObjects = (): { -readonly [K in keyof KubeObjects]: KubeObjects[K][number][] } => ({
  namespaces: [],
  services: [],
  pods: [],
  endpointSlices: [],
  serviceAccounts: [],
  trafficTargets: [],
  httpRouteGroups: [],
  tcpRoutes: [],
  trafficSplits: [],
  meshConfigs: [],
});

/**
 * OSM's bookstore demo: bookbuyer and bookthief call bookstore (v1 and v2 behind a split on the apex
 * `bookstore`), bookstore calls bookwarehouse, bookwarehouse calls mysql over TCP. SMI allows
 * bookbuyer -> bookstore, bookstore -> bookwarehouse, bookwarehouse -> mysql; bookthief gets nothing.
 */
export function bookstore(): ReturnType<typeof emptyObjects> {
  const o = emptyObjects();
  o.namespaces.push(namespace('bookbuyer'), namespace('bookthief'), namespace('bookstore', { 'openservicemesh.io/metrics': 'enabled' }), namespace('bookwarehouse'));
  // The injector annotates pods of namespaces with metrics enabled; the catalog reads the pods' annotation.
  const scraped = (p: K8sPod): K8sPod => ({ ...p, metadata: { ...p.metadata, annotations: { 'prometheus.io/scrape': 'true' } } });
  o.serviceAccounts.push(
    serviceAccount('bookbuyer', 'bookbuyer'),
    serviceAccount('bookthief', 'bookthief'),
    serviceAccount('bookstore', 'bookstore'),
    serviceAccount('bookwarehouse', 'bookwarehouse'),
    serviceAccount('bookwarehouse', 'mysql'),
  );
  const http = [{ name: 'http-web', port: 14001, targetPort: 14001 }];
  o.services.push(
    service('bookbuyer', 'bookbuyer', { app: 'bookbuyer' }, http, '10.96.0.10'),
    service('bookthief', 'bookthief', { app: 'bookthief' }, http, '10.96.0.11'),
    service('bookstore', 'bookstore', { app: 'bookstore' }, http, '10.96.0.12'),
    service('bookstore', 'bookstore-v1', { app: 'bookstore', version: 'v1' }, http, '10.96.0.13'),
    service('bookstore', 'bookstore-v2', { app: 'bookstore', version: 'v2' }, http, '10.96.0.14'),
    service('bookwarehouse', 'bookwarehouse', { app: 'bookwarehouse' }, http, '10.96.0.15'),
    service('bookwarehouse', 'mysql', { app: 'mysql' }, [{ name: 'tcp-server-first-mysql', port: 3306, targetPort: 3306 }], '10.96.0.16'),
  );
  o.pods.push(
    pod('bookbuyer', 'bookbuyer-1', { app: 'bookbuyer', 'osm-proxy-uuid': 'u-buyer' }, 'bookbuyer', '10.1.0.1'),
    pod('bookthief', 'bookthief-1', { app: 'bookthief', 'osm-proxy-uuid': 'u-thief' }, 'bookthief', '10.1.0.2'),
    scraped(pod('bookstore', 'bookstore-v1-1', { app: 'bookstore', version: 'v1', 'osm-proxy-uuid': 'u-store-v1' }, 'bookstore', '10.1.0.3')),
    scraped(pod('bookstore', 'bookstore-v2-1', { app: 'bookstore', version: 'v2', 'osm-proxy-uuid': 'u-store-v2' }, 'bookstore', '10.1.0.4')),
    pod('bookwarehouse', 'bookwarehouse-1', { app: 'bookwarehouse', 'osm-proxy-uuid': 'u-warehouse' }, 'bookwarehouse', '10.1.0.5'),
    pod('bookwarehouse', 'mysql-0', { app: 'mysql', 'osm-proxy-uuid': 'u-mysql' }, 'mysql', '10.1.0.6'),
  );
  const web = [{ name: 'http-web', port: 14001 }];
  o.endpointSlices.push(
    slice('bookbuyer', 'bookbuyer-abc', 'bookbuyer', [{ ip: '10.1.0.1', pod: 'bookbuyer-1' }], web),
    slice('bookthief', 'bookthief-abc', 'bookthief', [{ ip: '10.1.0.2', pod: 'bookthief-1' }], web),
    slice('bookstore', 'bookstore-abc', 'bookstore', [{ ip: '10.1.0.3', pod: 'bookstore-v1-1' }, { ip: '10.1.0.4', pod: 'bookstore-v2-1' }], web),
    slice('bookstore', 'bookstore-v1-abc', 'bookstore-v1', [{ ip: '10.1.0.3', pod: 'bookstore-v1-1' }], web),
    slice('bookstore', 'bookstore-v2-abc', 'bookstore-v2', [{ ip: '10.1.0.4', pod: 'bookstore-v2-1' }], web),
    slice('bookwarehouse', 'bookwarehouse-abc', 'bookwarehouse', [{ ip: '10.1.0.5', pod: 'bookwarehouse-1' }], web),
    slice('bookwarehouse', 'mysql-abc', 'mysql', [{ ip: '10.1.0.6', pod: 'mysql-0' }], [{ name: 'tcp-server-first-mysql', port: 3306 }]),
  );
  o.httpRouteGroups.push(
    httpRouteGroup('bookstore', 'bookstore-service-routes', [
      { name: 'books-bought', pathRegex: '/books-bought', methods: ['GET'], headers: { 'user-agent': '.*-http-client/*.*' } },
      { name: 'buy-a-book', pathRegex: '.*a-book.*new', methods: ['GET'] },
    ]),
    httpRouteGroup('bookwarehouse', 'bookwarehouse-service-routes', [{ name: 'restock-books', methods: ['POST'], pathRegex: '/restock-books' }]),
  );
  o.tcpRoutes.push(tcpRoute('bookwarehouse', 'mysql', [3306]));
  o.trafficTargets.push(
    trafficTarget('bookstore', 'bookbuyer-access-bookstore', 'bookstore', [{ ns: 'bookbuyer', sa: 'bookbuyer' }], [{ kind: 'HTTPRouteGroup', name: 'bookstore-service-routes', matches: ['buy-a-book', 'books-bought'] }]),
    trafficTarget('bookwarehouse', 'bookstore-access-bookwarehouse', 'bookwarehouse', [{ ns: 'bookstore', sa: 'bookstore' }], [{ kind: 'HTTPRouteGroup', name: 'bookwarehouse-service-routes', matches: ['restock-books'] }]),
    trafficTarget('bookwarehouse', 'mysql', 'mysql', [{ ns: 'bookwarehouse', sa: 'bookwarehouse' }], [{ kind: 'TCPRoute', name: 'mysql' }]),
  );
  o.trafficSplits.push(trafficSplit('bookstore', 'bookstore-split', 'bookstore', [{ service: 'bookstore-v1', weight: 75 }, { service: 'bookstore-v2', weight: 25 }]));
  o.meshConfigs.push(meshConfig({ traffic: { enablePermissiveTrafficPolicyMode: false } }));
  return o;
}
