// The one translator from Kubernetes objects to the mesh model. Pure: objects in, model out. Every
// input list is put in namespace/name order first and every output list is sorted, so the same
// objects give the same model (maps filled in the same order) whatever order they arrived in.
import {
  compareNamespacedNames,
  compareStrings,
  defaultMeshSettings,
  keyOf,
  meshConfigName,
  meshTracing,
  parseGoDuration,
  prometheusScrapeAnnotation,
  protocolOfPort,
  proxyUuidLabel,
  serviceNameLabel,
  type Endpoint,
  type HTTPRouteGroup,
  type MeshModel,
  type MeshNamespace,
  type MeshService,
  type MeshSettings,
  type Proxy,
  type ServiceIdentity,
  type ServicePort,
  type ServiceRef,
  type TCPRoute,
  type TrafficTarget,
} from '@osm/mesh-model';
import type { KubeObject } from '@osm/k8s-informers';
import { equalData } from './affected.ts';
import type { K8sEndpointSlice, K8sHTTPRouteGroup, K8sMeshConfig, K8sPod, K8sService, KubeObjects } from './kube-types.ts';
import { translateRouteGroup, translateTcpRoute, translateTrafficSplits, translateTrafficTarget } from './policy.ts';
import { ProblemList, type MeshProblem } from './problems.ts';
import { isPort, isString, uniqueSorted } from './values.ts';


export interface TranslateOptions {
  /** The cluster's DNS domain (default `cluster.local`): goes into the model's settings. */
  readonly clusterDomain?: string;
}

/** A translation: the model, and what in the objects could not be applied (sorted, without duplicates). */
export interface Translation {
  readonly model: MeshModel;
  readonly problems: readonly MeshProblem[];
}

const keyOfObject = (o: KubeObject): string => (o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name);

const compareObjects = (a: KubeObject, b: KubeObject): number =>
  compareStrings(a.metadata.namespace ?? '', b.metadata.namespace ?? '') ||
  compareStrings(a.metadata.name, b.metadata.name) ||
  compareStrings(a.metadata.resourceVersion ?? '', b.metadata.resourceVersion ?? '');

/** The kept objects in namespace/name order; a key that occurs twice keeps the first in this fixed order. */
function sortedByKey<T extends KubeObject>(list: readonly T[], keep: (o: T) => boolean): T[] {
  const sorted = list.filter(keep).sort(compareObjects);
  const out: T[] = [];
  for (const o of sorted) {
    const last = out[out.length - 1];
    if (last && last.metadata.name === o.metadata.name && (last.metadata.namespace ?? '') === (o.metadata.namespace ?? '')) continue;
    out.push(o);
  }
  return out;
}

const uniqueSortedNumbers = (items: Iterable<number>): number[] => [...new Set(items)].sort((a, b) => a - b);

function uniqueIdentities(ids: Iterable<ServiceIdentity>): ServiceIdentity[] {
  const byKey = new Map<string, ServiceIdentity>();
  for (const id of ids) byKey.set(keyOf(id), id);
  return [...byKey.values()].sort(compareNamespacedNames);
}

function podIdentity(pod: K8sPod): ServiceIdentity {
  const sa = pod.spec?.serviceAccountName;
  return { namespace: pod.metadata.namespace ?? '', name: isString(sa) ? sa : 'default' };
}

/** Pods of one namespace with a label index, for selector matching without scanning every pod. */
class NamespacePods {
  readonly pods: readonly K8sPod[];
  #byLabel: Map<string, K8sPod[]> | undefined;
  readonly #matches = new Map<string, K8sPod[]>();

  constructor(pods: readonly K8sPod[]) {
    this.pods = pods;
  }

  /** Pods whose labels include every pair of the (non-empty) selector, in pod order. Remembered per selector. */
  match(selector: Readonly<Record<string, string>>): K8sPod[] {
    const pairs = Object.entries(selector).sort((a, b) => compareStrings(a[0], b[0]));
    if (pairs.length === 0) return [];
    const cacheKey = JSON.stringify(pairs);
    const cached = this.#matches.get(cacheKey);
    if (cached) return cached;
    if (!this.#byLabel) {
      this.#byLabel = new Map();
      for (const pod of this.pods) {
        for (const [k, v] of Object.entries(pod.metadata.labels ?? {})) {
          const key = `${k}=${v}`;
          const list = this.#byLabel.get(key);
          if (list) list.push(pod);
          else this.#byLabel.set(key, [pod]);
        }
      }
    }
    let smallest: K8sPod[] | undefined;
    for (const [k, v] of pairs) {
      const list = this.#byLabel.get(`${k}=${v}`);
      if (!list) {
        smallest = [];
        break;
      }
      if (!smallest || list.length < smallest.length) smallest = list;
    }
    const out = (smallest ?? []).filter((pod) => pairs.every(([k, v]) => pod.metadata.labels?.[k] === v));
    this.#matches.set(cacheKey, out);
    return out;
  }
}

/** Go's strconv.ParseBool truths, as OSM reads `prometheus.io/scrape` (pkg/compute/kube/client.go IsMetricsEnabled). */
const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);

function settingsOf(meshConfig: K8sMeshConfig | undefined, clusterDomain: string): MeshSettings {
  const traffic = meshConfig?.spec?.traffic ?? {};
  const bool = (v: unknown, d: boolean): boolean => (typeof v === 'boolean' ? v : d);
  const strings = (v: unknown): string[] => (Array.isArray(v) ? uniqueSorted(v.filter(isString)) : []);
  const ports = (v: unknown): number[] => (Array.isArray(v) ? uniqueSortedNumbers(v.filter(isPort)) : []);
  const validity = meshConfig?.spec?.certificate?.serviceCertValidityDuration;
  const validityMs = typeof validity === 'string' ? parseGoDuration(validity) : undefined;
  const validitySeconds = validityMs === undefined ? undefined : validityMs / 1000;
  const logLevel = meshConfig?.spec?.sidecar?.logLevel;
  const tracing = meshConfig?.spec?.observability?.tracing;
  return {
    ...defaultMeshSettings,
    clusterDomain,
    permissiveMode: bool(traffic.enablePermissiveTrafficPolicyMode, defaultMeshSettings.permissiveMode),
    enableEgress: bool(traffic.enableEgress, defaultMeshSettings.enableEgress),
    serviceCertValiditySeconds: validitySeconds !== undefined && validitySeconds > 0 ? validitySeconds : defaultMeshSettings.serviceCertValiditySeconds,
    envoyLogLevel: isString(logLevel) ? logLevel : defaultMeshSettings.envoyLogLevel,
    inboundPortExclusionList: ports(traffic.inboundPortExclusionList),
    outboundPortExclusionList: ports(traffic.outboundPortExclusionList),
    outboundIpRangeExclusionList: strings(traffic.outboundIPRangeExclusionList),
    outboundIpRangeInclusionList: strings(traffic.outboundIPRangeInclusionList),
    // Sidecar tracing only when switched on (OSM: pkg/envoy/generator/lds.go, cds.go); a field that is
    // empty or not of its type takes OSM's default.
    ...(meshConfig && tracing?.enable === true
      ? {
          tracing: meshTracing(
            { address: isString(tracing.address) ? tracing.address : '', port: isPort(tracing.port) ? tracing.port : 0, endpoint: isString(tracing.endpoint) ? tracing.endpoint : '' },
            meshConfig.metadata.namespace ?? '',
            clusterDomain,
          ),
        }
      : {}),
  };
}

function endpointsOf(slices: readonly K8sEndpointSlice[]): Endpoint[] {
  const byAddress = new Map<string, Endpoint>();
  for (const slice of slices) {
    if (slice.addressType !== undefined && slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') continue;
    const ports = (slice.ports ?? []).filter((p) => isPort(p.port) && (p.protocol ?? 'TCP') === 'TCP');
    for (const ep of slice.endpoints ?? []) {
      // Kubernetes: an unknown (absent) ready condition is to be read as ready.
      const ready = ep.conditions?.ready !== false;
      for (const ip of ep.addresses ?? []) {
        if (!isString(ip)) continue;
        for (const p of ports) {
          const key = `${ip}|${p.port}`;
          const prev = byAddress.get(key);
          // The same address in two slices (while they are being rebalanced): ready if either says so.
          byAddress.set(key, { ip, port: p.port as number, ready: ready || (prev?.ready ?? false) });
        }
      }
    }
  }
  return [...byAddress.values()].sort((a, b) => compareStrings(a.ip, b.ip) || a.port - b.port);
}

function servicePorts(svc: K8sService, slices: readonly K8sEndpointSlice[]): ServicePort[] {
  const out: ServicePort[] = [];
  for (const p of svc.spec?.ports ?? []) {
    if (!isPort(p.port) || (p.protocol ?? 'TCP') !== 'TCP') continue;
    const name = isString(p.name) ? p.name : '';
    let targetPort = p.port;
    if (isPort(p.targetPort)) targetPort = p.targetPort;
    else if (isString(p.targetPort)) {
      // A named target port: the EndpointSlice controller resolved it; its slices carry the number under the service port's name.
      const resolved = slices.flatMap((s) => s.ports ?? []).find((sp) => (sp.name ?? '') === name && isPort(sp.port));
      if (resolved?.port !== undefined) targetPort = resolved.port;
    }
    out.push({ name, port: p.port, targetPort, protocol: protocolOfPort(p.name, p.appProtocol) });
  }
  const unique = new Map(out.map((p) => [`${p.port}`, p]));
  return [...unique.values()].sort((a, b) => a.port - b.port);
}

/** The service accounts of monitored namespaces: the identities the mesh can issue certificates for. */
export function serviceIdentities(objects: Pick<KubeObjects, 'namespaces' | 'serviceAccounts'>): ServiceIdentity[] {
  const monitored = new Set(objects.namespaces.map((n) => n.metadata.name));
  return uniqueIdentities(
    objects.serviceAccounts.filter((sa) => monitored.has(sa.metadata.namespace ?? '')).map((sa) => ({ namespace: sa.metadata.namespace ?? '', name: sa.metadata.name })),
  );
}

/** Kubernetes objects to the mesh model and its problems (a pure function: same objects, same result). */
export function translate(objects: KubeObjects, options: TranslateOptions = {}): Translation {
  return new Translator(options).translate(objects);
}

const sameItems = <T>(a: readonly T[], b: readonly T[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * The map of `entries` (in their order), reusing the previous map's values that are equal, and the
 * previous map itself when nothing differs.
 */
function stableMap<V>(previous: ReadonlyMap<string, V> | undefined, entries: [string, V][]): ReadonlyMap<string, V> {
  if (!previous) return new Map(entries);
  let same = previous.size === entries.length;
  const it = previous.entries();
  for (const entry of entries) {
    const old = previous.get(entry[0]);
    if (old !== undefined && old !== entry[1] && equalData(old, entry[1])) entry[1] = old;
    if (same) {
      const next = it.next();
      same = !next.done && next.value[0] === entry[0] && next.value[1] === entry[1];
    }
  }
  return same ? previous : new Map(entries);
}

/**
 * `translate` with memory: parts of the previous model whose inputs are the very same (frozen)
 * objects are reused instead of rebuilt, which makes translating a large mesh after a small change
 * cheap, and lets `diffModels` see unchanged parts as identical at once. The output is exactly what
 * `translate` gives for the same objects.
 */
export class Translator {
  readonly #clusterDomain: string;
  #services = new Map<string, { svc: K8sService; slices: readonly K8sEndpointSlice[]; identitiesKey: string; service: MeshService; ref: ServiceRef }>();
  #endpoints = new Map<string, { slices: readonly K8sEndpointSlice[]; endpoints: Endpoint[] }>();
  #proxies = new WeakMap<K8sPod, { proxy: Proxy }>();
  #namespacePods = new Map<string, NamespacePods>();
  #routeGroups = new WeakMap<K8sHTTPRouteGroup, { group: HTTPRouteGroup; problems: readonly MeshProblem[] }>();
  #previous: MeshModel | undefined;

  constructor(options: TranslateOptions = {}) {
    this.#clusterDomain = options.clusterDomain ?? 'cluster.local';
  }

  translate(objects: KubeObjects): Translation {
    const clusterDomain = this.#clusterDomain;
    const serviceCache = new Map<string, { svc: K8sService; slices: readonly K8sEndpointSlice[]; identitiesKey: string; service: MeshService; ref: ServiceRef }>();
    const endpointCache = new Map<string, { slices: readonly K8sEndpointSlice[]; endpoints: Endpoint[] }>();
    const namespaceObjects = sortedByKey(objects.namespaces, () => true);
    const monitored = new Set(namespaceObjects.map((n) => n.metadata.name));
    const inMesh = (o: KubeObject): boolean => monitored.has(o.metadata.namespace ?? '');

    const namespaces: MeshNamespace[] = namespaceObjects.map((n) => ({ name: n.metadata.name }));
    const problems = new ProblemList();

    // Pods that may be running (not finished), by namespace.
    const podLists = new Map<string, K8sPod[]>();
    for (const pod of sortedByKey(objects.pods, inMesh)) {
      const phase = pod.status?.phase;
      if (phase === 'Succeeded' || phase === 'Failed') continue;
      const ns = pod.metadata.namespace ?? '';
      const list = podLists.get(ns);
      if (list) list.push(pod);
      else podLists.set(ns, [pod]);
    }
    // A namespace whose pods are the very same objects as last time keeps its label index and matches.
    const podsByNamespace = new Map<string, NamespacePods>();
    for (const [ns, pods] of podLists) {
      const previous = this.#namespacePods.get(ns);
      podsByNamespace.set(ns, previous && sameItems(previous.pods, pods) ? previous : new NamespacePods(pods));
    }
    this.#namespacePods = podsByNamespace;
    let podByKey: Map<string, K8sPod> | undefined; // only selectorless services need it
    const podNamed = (key: string): K8sPod | undefined => {
      if (!podByKey) {
        podByKey = new Map();
        for (const group of podsByNamespace.values()) for (const pod of group.pods) podByKey.set(keyOfObject(pod), pod);
      }
      return podByKey.get(key);
    };

    // EndpointSlices by the service they belong to.
    const slicesByService = new Map<string, K8sEndpointSlice[]>();
    for (const slice of sortedByKey(objects.endpointSlices, inMesh)) {
      const svc = slice.metadata.labels?.[serviceNameLabel];
      if (!isString(svc)) continue;
      const key = `${slice.metadata.namespace}/${svc}`;
      const list = slicesByService.get(key);
      if (list) list.push(slice);
      else slicesByService.set(key, [slice]);
    }

    const services: MeshService[] = [];
    const endpoints: { service: ServiceRef; endpoints: Endpoint[] }[] = [];
    const servicesOfPod = new Map<K8sPod, ServiceRef[]>();
    for (const svc of sortedByKey(objects.services, inMesh)) {
      if (svc.spec?.type === 'ExternalName') continue;
      const namespace = svc.metadata.namespace ?? '';
      const key = `${namespace}/${svc.metadata.name}`;
      // The same ref object from one translation to the next, so proxies can compare their lists by identity.
      const ref: ServiceRef = this.#services.get(key)?.ref ?? { namespace, name: svc.metadata.name };
      const slices = slicesByService.get(key) ?? [];
      const selector = svc.spec?.selector ?? {};
      let backing: K8sPod[];
      if (Object.keys(selector).length > 0) {
        backing = podsByNamespace.get(namespace)?.match(selector) ?? [];
        for (const pod of backing) {
          const list = servicesOfPod.get(pod);
          if (list) list.push(ref);
          else servicesOfPod.set(pod, [ref]);
        }
      } else {
        // No selector: the pods are whatever the (hand-made) EndpointSlices point at.
        backing = [];
        for (const slice of slices)
          for (const ep of slice.endpoints ?? []) {
            const t = ep.targetRef;
            if (t?.kind !== 'Pod' || !isString(t.name)) continue;
            const pod = podNamed(`${isString(t.namespace) ? t.namespace : namespace}/${t.name}`);
            if (pod) backing.push(pod);
          }
      }
      const identities = uniqueIdentities(backing.map(podIdentity));
      const identitiesKey = identities.map(keyOf).join(',');
      const cached = this.#services.get(key);
      let service: MeshService;
      if (cached && cached.svc === svc && cached.identitiesKey === identitiesKey && sameItems(cached.slices, slices)) {
        service = cached.service;
      } else {
        const clusterIps = (svc.spec?.clusterIPs ?? (svc.spec?.clusterIP ? [svc.spec.clusterIP] : [])).filter((ip) => isString(ip) && ip !== 'None');
        service = {
          namespace,
          name: ref.name,
          ports: servicePorts(svc, slices),
          clusterIps: [...clusterIps],
          identities,
        };
      }
      serviceCache.set(key, { svc, slices, identitiesKey, service, ref });
      services.push(service);
      const cachedEndpoints = this.#endpoints.get(key);
      const eps = cachedEndpoints && sameItems(cachedEndpoints.slices, slices) ? cachedEndpoints.endpoints : endpointsOf(slices);
      endpointCache.set(key, { slices, endpoints: eps });
      endpoints.push({ service: ref, endpoints: eps });
    }
    this.#services = serviceCache;
    this.#endpoints = endpointCache;

    const proxies: Proxy[] = [];
    const seenUuids = new Set<string>();
    for (const group of podsByNamespace.values()) {
      for (const pod of group.pods) {
        const uuid = pod.metadata.labels?.[proxyUuidLabel];
        if (!isString(uuid) || seenUuids.has(uuid)) continue;
        seenUuids.add(uuid);
        // Services are visited in sorted order, so each pod's list is sorted already.
        const refs = servicesOfPod.get(pod) ?? [];
        const cached = this.#proxies.get(pod);
        if (cached && cached.proxy.uuid === uuid && sameItems(cached.proxy.services, refs)) {
          proxies.push(cached.proxy);
          continue;
        }
        const prometheusScrape = TRUE.has(pod.metadata.annotations?.[prometheusScrapeAnnotation] ?? '');
        const proxy: Proxy = { uuid, identity: podIdentity(pod), namespace: pod.metadata.namespace ?? '', podName: pod.metadata.name, services: refs, prometheusScrape };
        this.#proxies.set(pod, { proxy });
        proxies.push(proxy);
      }
    }
    // Proxies are in pod namespace/name order (pods were sorted), whatever order they arrived in.

    // Policies: the routes first (targets refer to them), then targets and splits.
    const httpRouteGroups: HTTPRouteGroup[] = sortedByKey(objects.httpRouteGroups, inMesh).map((g) => {
      let done = this.#routeGroups.get(g);
      if (!done) {
        const own = new ProblemList();
        done = { group: translateRouteGroup(g, own), problems: own.sorted() };
        this.#routeGroups.set(g, done);
      }
      problems.add(done.problems);
      return done.group;
    });
    const tcpRoutes: TCPRoute[] = sortedByKey(objects.tcpRoutes, inMesh).map((r) => translateTcpRoute(r, problems));
    const routes = { http: new Map(httpRouteGroups.map((g) => [keyOf(g), g])), tcp: new Map(tcpRoutes.map((r) => [keyOf(r), r])) };
    const trafficTargets: TrafficTarget[] = [];
    for (const tt of sortedByKey(objects.trafficTargets, inMesh)) {
      const target = translateTrafficTarget(tt, routes, problems);
      if (target) trafficTargets.push(target);
    }
    const serviceKeys = new Set(services.map(keyOf));
    const trafficSplits = translateTrafficSplits(sortedByKey(objects.trafficSplits, inMesh), serviceKeys, clusterDomain, problems);

    const meshConfig = sortedByKey(objects.meshConfigs, (m) => m.metadata.name === meshConfigName)[0];

    // What did not change is the previous model's very object (the mesh-model contract: consumers
    // memoize on the identity of maps, lists and entries).
    const prev = this.#previous;
    const settings = settingsOf(meshConfig, clusterDomain);
    const model: MeshModel = {
      settings: prev && equalData(prev.settings, settings) ? prev.settings : settings,
      namespaces: stableMap(prev?.namespaces, namespaces.map((n) => [n.name, n])),
      services: stableMap(prev?.services, services.map((x) => [keyOf(x), x])),
      endpoints: stableMap(prev?.endpoints, endpoints.map((e) => [keyOf(e.service), e.endpoints])),
      proxies: stableMap(prev?.proxies, proxies.map((x) => [x.uuid, x])),
      trafficTargets: stableMap(prev?.trafficTargets, trafficTargets.map((t) => [keyOf(t), t])),
      httpRouteGroups: stableMap(prev?.httpRouteGroups, httpRouteGroups.map((g) => [keyOf(g), g])),
      tcpRoutes: stableMap(prev?.tcpRoutes, tcpRoutes.map((r) => [keyOf(r), r])),
      trafficSplits: stableMap(prev?.trafficSplits, trafficSplits.map((t) => [keyOf(t), t])),
    };
    this.#previous = model;
    return { model, problems: problems.sorted() };
  }
}
