// Test-only: OSM's bookstore demo written to a real API server (namespaces, service accounts,
// services, pods labelled with proxy uuids, EndpointSlices, SMI policies, MeshConfig in SMI mode), the
// mesh root in the CA Secret before any component starts, and bootstrap certificates for the pods; or
// only its workload, for a control plane that created its own root (the injector then labels the pods).
import { randomUUID } from 'node:crypto';
import { systemClock } from '@osm/clock';
import { generateRootCA, LocalCertificateAuthority, loadSigningCA, type IssuedCertificate } from '@osm/certificates';
import { monitoredByLabel, proxyUuidLabel, sidecarInjectionAnnotation } from '@osm/mesh-model';
import type { KubeRest } from './kube-rest.ts';

export const NAMESPACE = 'osm-system';
export const TRUST_DOMAIN = 'cluster.local';
const smi = {
  access: '/apis/access.smi-spec.io/v1alpha3',
  specs: '/apis/specs.smi-spec.io/v1alpha4',
  split: '/apis/split.smi-spec.io/v1alpha2',
  config: '/apis/config.openservicemesh.io/v1alpha2',
};

/** An app of the demo: its namespace, service account, labels, and the services selecting it. */
interface App {
  readonly app: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly labels: Readonly<Record<string, string>>;
}

export const APPS: readonly App[] = [
  { app: 'bookbuyer', namespace: 'bookbuyer', serviceAccount: 'bookbuyer', labels: { app: 'bookbuyer' } },
  { app: 'bookthief', namespace: 'bookthief', serviceAccount: 'bookthief', labels: { app: 'bookthief' } },
  { app: 'bookstore-v1', namespace: 'bookstore', serviceAccount: 'bookstore', labels: { app: 'bookstore', version: 'v1' } },
  { app: 'bookstore-v2', namespace: 'bookstore', serviceAccount: 'bookstore-v2', labels: { app: 'bookstore', version: 'v2' } },
  { app: 'bookwarehouse', namespace: 'bookwarehouse', serviceAccount: 'bookwarehouse', labels: { app: 'bookwarehouse' } },
  { app: 'mysql', namespace: 'bookwarehouse', serviceAccount: 'mysql', labels: { app: 'mysql' } },
];

const SERVICES: readonly { namespace: string; name: string; selector: Readonly<Record<string, string>>; port: { name: string; port: number } }[] = [
  { namespace: 'bookstore', name: 'bookstore', selector: { app: 'bookstore' }, port: { name: 'http-bookstore', port: 14001 } },
  { namespace: 'bookstore', name: 'bookstore-v1', selector: { app: 'bookstore', version: 'v1' }, port: { name: 'http-bookstore', port: 14001 } },
  { namespace: 'bookstore', name: 'bookstore-v2', selector: { app: 'bookstore', version: 'v2' }, port: { name: 'http-bookstore', port: 14001 } },
  { namespace: 'bookwarehouse', name: 'bookwarehouse', selector: { app: 'bookwarehouse' }, port: { name: 'http-bookwarehouse', port: 14001 } },
  { namespace: 'bookwarehouse', name: 'mysql', selector: { app: 'mysql' }, port: { name: 'tcp-mysql', port: 3306 } },
];

export interface MeshPod {
  readonly uuid: string;
  readonly app: string;
  readonly namespace: string;
  readonly name: string;
  readonly serviceAccount: string;
  readonly ip: string;
}

export interface Bookstore {
  readonly pods: readonly MeshPod[];
  readonly rootPem: string;
  readonly ca: LocalCertificateAuthority;
  bootstrap(pod: MeshPod): IssuedCertificate;
}

const matches = (labels: Readonly<Record<string, string>>, selector: Readonly<Record<string, string>>): boolean => Object.entries(selector).every(([k, v]) => labels[k] === v);

/** A root of the test's own (a Secret of that shape is what Tresor creates). */
export async function testAuthority(): Promise<{ ca: LocalCertificateAuthority; certificatePem: string; privateKeyPem: string }> {
  const root = await generateRootCA({ clock: systemClock });
  const ca = loadSigningCA(root.certificatePem, root.privateKeyPem, Date.now());
  if (!ca.ok) throw ca.error;
  return { ca: new LocalCertificateAuthority({ ca: ca.value, trustDomain: TRUST_DOMAIN, clock: systemClock }), ...root };
}

export function bootstrapOf(ca: LocalCertificateAuthority, pod: Pick<MeshPod, 'uuid' | 'serviceAccount' | 'namespace'>): IssuedCertificate {
  return ca.issueSync({ subject: { kind: 'bootstrap', proxyUuid: pod.uuid, serviceAccount: pod.serviceAccount, namespace: pod.namespace }, validityMs: 24 * 3_600_000 });
}

/** A pod of the demo; one without a uuid is left for the injector to label. */
export function podBody(pod: MeshPod, labels: Readonly<Record<string, string>>): unknown {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { namespace: pod.namespace, name: pod.name, labels: pod.uuid ? { ...labels, [proxyUuidLabel]: pod.uuid } : labels },
    spec: { serviceAccountName: pod.serviceAccount, containers: [{ name: 'app', image: 'example.invalid/app:1' }] },
  };
}

/** Writes the demo with `pods` pods of each app (a number for all six, or per app); SMI mode, bookbuyer (not bookthief) may buy books. */
export async function createBookstore(rest: KubeRest, pods: number | Readonly<Record<string, number>>): Promise<Bookstore> {
  const authority = await testAuthority();
  await rest.create('/api/v1/namespaces', { metadata: { name: NAMESPACE } });
  await rest.create(`/api/v1/namespaces/${NAMESPACE}/secrets`, {
    metadata: { name: 'osm-ca-bundle', labels: { 'app.kubernetes.io/name': 'openservicemesh.io' } },
    data: { 'ca.crt': Buffer.from(authority.certificatePem).toString('base64'), 'private.key': Buffer.from(authority.privateKeyPem).toString('base64') },
  });
  await rest.create(`${smi.config}/namespaces/${NAMESPACE}/meshconfigs`, {
    apiVersion: 'config.openservicemesh.io/v1alpha2',
    kind: 'MeshConfig',
    metadata: { namespace: NAMESPACE, name: 'osm-mesh-config' },
    spec: { traffic: { enablePermissiveTrafficPolicyMode: false, enableEgress: false }, certificate: { serviceCertValidityDuration: '24h' } },
  });
  const all = await createBookstoreWorkload(rest, pods);
  return { pods: all, rootPem: authority.certificatePem, ca: authority.ca, bootstrap: (pod) => bootstrapOf(authority.ca, pod) };
}

export interface WorkloadOptions {
  /**
   * Let the injector admit the pods (default false): the namespaces carry the sidecar-injection
   * annotation and the pods no uuid; each pod's uuid is the one the injector labelled it with, and its
   * bootstrap certificate is in the Secret the injector wrote. Without it the pods carry uuids of ours.
   */
  readonly injection?: boolean;
  /** The mesh whose namespaces these are (their monitored-by label); default `osm`. */
  readonly meshName?: string;
}

/**
 * The demo's workload (namespaces, service accounts, services, pods, EndpointSlices, SMI policies)
 * without the control plane's state (root, MeshConfig): for a cluster whose control plane created that.
 */
export async function createBookstoreWorkload(rest: KubeRest, pods: number | Readonly<Record<string, number>>, options: WorkloadOptions = {}): Promise<MeshPod[]> {
  const injection = options.injection === true;
  const annotations = injection ? { [sidecarInjectionAnnotation]: 'enabled' } : {};
  const labels = { [monitoredByLabel]: options.meshName ?? 'osm' };
  for (const ns of ['bookbuyer', 'bookthief', 'bookstore', 'bookwarehouse']) await rest.create('/api/v1/namespaces', { metadata: { name: ns, labels, annotations } });
  for (const a of APPS) await rest.create(`/api/v1/namespaces/${a.namespace}/serviceaccounts`, { metadata: { name: a.serviceAccount } });
  for (const s of SERVICES) {
    await rest.create(`/api/v1/namespaces/${s.namespace}/services`, { metadata: { name: s.name }, spec: { selector: s.selector, ports: [{ ...s.port, targetPort: s.port.port }] } });
  }
  const planned: MeshPod[] = [];
  APPS.forEach((a, ai) => {
    const n = typeof pods === 'number' ? pods : (pods[a.app] ?? 0);
    for (let i = 0; i < n; i++) planned.push({ uuid: injection ? '' : randomUUID(), app: a.app, namespace: a.namespace, name: `${a.app}-${i}`, serviceAccount: a.serviceAccount, ip: `10.1.${ai}.${i + 1}` });
  });
  const labelsOf = (pod: MeshPod): Readonly<Record<string, string>> => (APPS.find((a) => a.app === pod.app) as App).labels;
  const all = await Promise.all(
    planned.map(async (pod) => {
      const created = await rest.create(`/api/v1/namespaces/${pod.namespace}/pods`, podBody(pod, labelsOf(pod)));
      if (!injection) return pod;
      const uuid = (created['metadata'] as { labels?: Record<string, string> } | undefined)?.labels?.[proxyUuidLabel];
      if (!uuid) throw new Error(`pod ${pod.namespace}/${pod.name} came back without the ${proxyUuidLabel} label: the injector did not admit it`);
      return { ...pod, uuid };
    }),
  );
  for (const s of SERVICES) {
    const backing = all.filter((p) => p.namespace === s.namespace && matches(labelsOf(p), s.selector));
    await rest.create(`/apis/discovery.k8s.io/v1/namespaces/${s.namespace}/endpointslices`, {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: `${s.name}-1`, labels: { 'kubernetes.io/service-name': s.name } },
      addressType: 'IPv4',
      endpoints: backing.map((p) => ({ addresses: [p.ip], conditions: { ready: true } })),
      ports: [{ name: s.port.name, port: s.port.port, protocol: 'TCP' }],
    });
  }
  await rest.create(`${smi.specs}/namespaces/bookstore/httproutegroups`, {
    apiVersion: 'specs.smi-spec.io/v1alpha4',
    kind: 'HTTPRouteGroup',
    metadata: { name: 'bookstore-service-routes' },
    spec: { matches: [{ name: 'books-bought', pathRegex: '/books-bought', methods: ['GET'] }, { name: 'buy-a-book', pathRegex: '.*a-book.*new', methods: ['GET'] }] },
  });
  await rest.create(`${smi.specs}/namespaces/bookwarehouse/httproutegroups`, {
    apiVersion: 'specs.smi-spec.io/v1alpha4',
    kind: 'HTTPRouteGroup',
    metadata: { name: 'bookwarehouse-service-routes' },
    spec: { matches: [{ name: 'restock-books', methods: ['POST'], pathRegex: '/restock-books' }] },
  });
  await rest.create(`${smi.specs}/namespaces/bookwarehouse/tcproutes`, { apiVersion: 'specs.smi-spec.io/v1alpha4', kind: 'TCPRoute', metadata: { name: 'mysql' }, spec: { matches: { ports: [3306] } } });
  await rest.create(`${smi.access}/namespaces/bookstore/traffictargets`, trafficTarget('bookstore', 'bookstore', [{ ns: 'bookbuyer', sa: 'bookbuyer' }], 'bookstore-service-routes'));
  await rest.create(`${smi.access}/namespaces/bookstore/traffictargets`, trafficTarget('bookstore', 'bookstore-v2', [{ ns: 'bookbuyer', sa: 'bookbuyer' }], 'bookstore-service-routes'));
  await rest.create(`${smi.access}/namespaces/bookwarehouse/traffictargets`, trafficTarget('bookwarehouse', 'bookwarehouse', [{ ns: 'bookstore', sa: 'bookstore' }, { ns: 'bookstore', sa: 'bookstore-v2' }], 'bookwarehouse-service-routes'));
  await rest.create(`${smi.access}/namespaces/bookwarehouse/traffictargets`, {
    apiVersion: 'access.smi-spec.io/v1alpha3',
    kind: 'TrafficTarget',
    metadata: { name: 'mysql' },
    spec: { destination: { kind: 'ServiceAccount', name: 'mysql', namespace: 'bookwarehouse' }, sources: [{ kind: 'ServiceAccount', name: 'bookwarehouse', namespace: 'bookwarehouse' }], rules: [{ kind: 'TCPRoute', name: 'mysql' }] },
  });
  await rest.create(`${smi.split}/namespaces/bookstore/trafficsplits`, {
    apiVersion: 'split.smi-spec.io/v1alpha2',
    kind: 'TrafficSplit',
    metadata: { name: 'bookstore-split' },
    spec: { service: 'bookstore', backends: [{ service: 'bookstore-v1', weight: 75 }, { service: 'bookstore-v2', weight: 25 }] },
  });
  return all;
}

/** A TrafficTarget from `sources` to the destination service account, over the named route group's matches. */
export function trafficTarget(namespace: string, name: string, sources: readonly { ns: string; sa: string }[], routes: string, destination = name): unknown {
  return {
    apiVersion: 'access.smi-spec.io/v1alpha3',
    kind: 'TrafficTarget',
    metadata: { name },
    spec: {
      destination: { kind: 'ServiceAccount', name: destination, namespace },
      sources: sources.map((s) => ({ kind: 'ServiceAccount', name: s.sa, namespace: s.ns })),
      rules: [{ kind: 'HTTPRouteGroup', name: routes, matches: routes === 'bookstore-service-routes' ? ['books-bought', 'buy-a-book'] : ['restock-books'] }],
    },
  };
}

export const trafficTargetsPath = (namespace: string): string => `${smi.access}/namespaces/${namespace}/traffictargets`;
