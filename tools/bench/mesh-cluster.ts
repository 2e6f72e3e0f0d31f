// A mesh of any size written to a real API server for the fleet benchmarks (B1, B2, B6, B7): S services
// of 10 pods each (S = N/10), each service its own service account, SMI mode. Every service may call a
// hub service (svc-0), and service i may call service i+1 (a ring from svc-2 on; svc-1 has no callers
// until a benchmark adds a TrafficTarget to it). So one endpoint added to the hub reaches every proxy,
// and one TrafficTarget to svc-1 from every service reaches every proxy too: the worst case of B1.
import { upstreamClusterName } from '@osm/xds-snapshot';
import { bootstrapOf, DEFAULT_SERVER_NAME, testAuthority, trafficTargetsPath, type KubeRest } from '@osm/testing';
import type { SimulatedProxySpec } from '@osm/testing';

export const PODS_PER_SERVICE = 10;
const SERVICES_PER_NAMESPACE = 50;
const PORT = 8080;
const OSM_NAMESPACE = 'osm-system';
const monitored = { 'openservicemesh.io/monitored-by': 'osm' };

export interface BenchService {
  readonly index: number;
  readonly namespace: string;
  readonly name: string;
}

export interface BenchMesh {
  readonly services: readonly BenchService[];
  /** One per pod, with its bootstrap certificate, in pod order (service by service). */
  readonly proxies: readonly SimulatedProxySpec[];
  readonly rootPem: string;
  /** A serving certificate from the mesh root for another ADS server (B7), with the name the fleet verifies. */
  serverCertificate(): { certificatePem: string; privateKeyPem: string };
  /** The upstream cluster name of a service, as every caller's CDS holds it. */
  clusterOf(service: BenchService): string;
  /** Adds one ready endpoint to the service's EndpointSlice; resolves when the write returned. */
  addEndpoint(service: BenchService): Promise<void>;
  /** Adds a TrafficTarget from every service account to the service's; resolves when the write returned. */
  allowAllTo(service: BenchService): Promise<void>;
}

const serviceAt = (i: number): BenchService => ({ index: i, namespace: `bench-${Math.floor(i / SERVICES_PER_NAMESPACE)}`, name: `svc-${i}` });
const ipOf = (k: number): string => `10.${(k >> 16) + 1}.${(k >> 8) & 255}.${k & 255}`;

/** Runs `work` over the items with at most `inFlight` at a time (the API server is shared by all writes). */
async function forEachLimited<T>(items: readonly T[], inFlight: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(inFlight, items.length) }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

function trafficTarget(name: string, destination: BenchService, sources: readonly BenchService[]): unknown {
  return {
    apiVersion: 'access.smi-spec.io/v1alpha3',
    kind: 'TrafficTarget',
    metadata: { name },
    spec: {
      destination: { kind: 'ServiceAccount', name: destination.name, namespace: destination.namespace },
      sources: sources.map((s) => ({ kind: 'ServiceAccount', name: s.name, namespace: s.namespace })),
      rules: [{ kind: 'HTTPRouteGroup', name: 'all', matches: ['all'] }],
    },
  };
}

/** Writes the mesh for `proxies` proxies (a multiple of 10, at least 20) and issues their bootstrap certificates. */
export async function writeBenchMesh(rest: KubeRest, proxies: number, progress: (line: string) => void): Promise<BenchMesh> {
  const count = proxies / PODS_PER_SERVICE;
  const services = Array.from({ length: count }, (_, i) => serviceAt(i));
  const namespaces = [...new Set(services.map((s) => s.namespace))];
  const authority = await testAuthority();
  await rest.create('/api/v1/namespaces', { metadata: { name: OSM_NAMESPACE } });
  await rest.create(`/api/v1/namespaces/${OSM_NAMESPACE}/secrets`, {
    metadata: { name: 'osm-ca-bundle', labels: { 'app.kubernetes.io/name': 'openservicemesh.io' } },
    data: { 'ca.crt': Buffer.from(authority.certificatePem).toString('base64'), 'private.key': Buffer.from(authority.privateKeyPem).toString('base64') },
  });
  await rest.create(`/apis/config.openservicemesh.io/v1alpha2/namespaces/${OSM_NAMESPACE}/meshconfigs`, {
    apiVersion: 'config.openservicemesh.io/v1alpha2',
    kind: 'MeshConfig',
    metadata: { namespace: OSM_NAMESPACE, name: 'osm-mesh-config' },
    spec: { traffic: { enablePermissiveTrafficPolicyMode: false, enableEgress: false }, certificate: { serviceCertValidityDuration: '24h' } },
  });
  for (const ns of namespaces) {
    await rest.create('/api/v1/namespaces', { metadata: { name: ns, labels: monitored } });
    await rest.create(`/apis/specs.smi-spec.io/v1alpha4/namespaces/${ns}/httproutegroups`, {
      apiVersion: 'specs.smi-spec.io/v1alpha4',
      kind: 'HTTPRouteGroup',
      metadata: { name: 'all' },
      spec: { matches: [{ name: 'all', pathRegex: '.*', methods: ['*'] }] },
    });
  }
  const pods = services.flatMap((s) => Array.from({ length: PODS_PER_SERVICE }, (_, j) => ({ service: s, name: `${s.name}-${j}`, uuid: crypto.randomUUID(), ip: ipOf(s.index * PODS_PER_SERVICE + j) })));
  const endpoints = new Map(services.map((s) => [s.name, pods.filter((p) => p.service === s).map((p) => p.ip)]));
  progress(`writing ${services.length} services, ${pods.length} pods, ${namespaces.length} namespaces`);
  await forEachLimited(services, 16, async (s) => {
    await rest.create(`/api/v1/namespaces/${s.namespace}/serviceaccounts`, { metadata: { name: s.name } });
    await rest.create(`/api/v1/namespaces/${s.namespace}/services`, { metadata: { name: s.name }, spec: { selector: { app: s.name }, ports: [{ name: 'http', port: PORT, targetPort: PORT }] } });
  });
  await forEachLimited(pods, 32, (p) =>
    rest.create(`/api/v1/namespaces/${p.service.namespace}/pods`, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { namespace: p.service.namespace, name: p.name, labels: { app: p.service.name, 'osm-proxy-uuid': p.uuid } },
      spec: { serviceAccountName: p.service.name, containers: [{ name: 'app', image: 'example.invalid/app:1' }] },
    }),
  );
  const sliceOf = (s: BenchService): unknown => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${s.name}-1`, labels: { 'kubernetes.io/service-name': s.name } },
    addressType: 'IPv4',
    endpoints: (endpoints.get(s.name) ?? []).map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
    ports: [{ name: 'http', port: PORT, protocol: 'TCP' }],
  });
  await forEachLimited(services, 16, (s) => rest.create(`/apis/discovery.k8s.io/v1/namespaces/${s.namespace}/endpointslices`, sliceOf(s)));
  const hub = services[0] as BenchService;
  await rest.create(trafficTargetsPath(hub.namespace), trafficTarget('hub', hub, services));
  await forEachLimited(services.slice(2), 16, (s) => rest.create(trafficTargetsPath(s.namespace), trafficTarget(s.name, s, [services[s.index - 1] as BenchService])));
  progress(`issuing ${pods.length} bootstrap certificates`);
  const specs = pods.map((p) => {
    const cert = bootstrapOf(authority.ca, { uuid: p.uuid, serviceAccount: p.service.name, namespace: p.service.namespace });
    return { uuid: p.uuid, certificatePem: cert.certificatePem, privateKeyPem: cert.privateKeyPem };
  });
  let added = 0;
  return {
    services,
    proxies: specs,
    rootPem: authority.certificatePem,
    serverCertificate: () => authority.ca.issueSync({ subject: { kind: 'server', dnsNames: [DEFAULT_SERVER_NAME, 'localhost'], ipAddresses: ['127.0.0.1'] }, validityMs: 24 * 3_600_000 }),
    clusterOf: (s) => upstreamClusterName(s, PORT),
    async addEndpoint(s) {
      const list = endpoints.get(s.name) ?? [];
      list.push(ipOf(pods.length + added++));
      await rest.patch(`/apis/discovery.k8s.io/v1/namespaces/${s.namespace}/endpointslices/${s.name}-1`, { endpoints: list.map((ip) => ({ addresses: [ip], conditions: { ready: true } })) });
    },
    async allowAllTo(s) {
      await rest.create(trafficTargetsPath(s.namespace), trafficTarget(`all-to-${s.name}`, s, services));
    },
  };
}
