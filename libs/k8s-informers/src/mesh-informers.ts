// The informers a mesh controller needs, with namespace membership applied: objects in namespaces
// that are not monitored by this mesh are not kept.
import { ignoreLabel, meshConfigName, monitoredByLabel, proxyUuidLabel, serviceNameLabel } from '@osm/mesh-model';
import { Informer, type InformerOptions } from './informer.ts';
import { byNamespace, type Indexers } from './store.ts';
import type { KubeObject } from './types.ts';

/** Collection paths of the watched kinds (cluster-wide lists and watches). */
export const kindPaths = {
  namespaces: '/api/v1/namespaces',
  services: '/api/v1/services',
  pods: '/api/v1/pods',
  endpointSlices: '/apis/discovery.k8s.io/v1/endpointslices',
  serviceAccounts: '/api/v1/serviceaccounts',
  trafficTargets: '/apis/access.smi-spec.io/v1alpha3/traffictargets',
  httpRouteGroups: '/apis/specs.smi-spec.io/v1alpha4/httproutegroups',
  tcpRoutes: '/apis/specs.smi-spec.io/v1alpha4/tcproutes',
  trafficSplits: '/apis/split.smi-spec.io/v1alpha2/trafficsplits',
  meshConfigs: (namespace: string): string => `/apis/config.openservicemesh.io/v1alpha2/namespaces/${namespace}/meshconfigs`,
} as const;

export type NamespacedKind = 'services' | 'pods' | 'endpointSlices' | 'serviceAccounts' | 'trafficTargets' | 'httpRouteGroups' | 'tcpRoutes' | 'trafficSplits';
export const namespacedKinds: readonly NamespacedKind[] = ['services', 'pods', 'endpointSlices', 'serviceAccounts', 'trafficTargets', 'httpRouteGroups', 'tcpRoutes', 'trafficSplits'];

/** Shared by every informer of the set; see InformerOptions for each. */
type SharedInformerOptions = Pick<
  InformerOptions<KubeObject>,
  'client' | 'logger' | 'clock' | 'random' | 'backoff' | 'stallTimeoutMs' | 'pageSize' | 'watchTimeoutSeconds'
>;

export interface MeshInformersOptions extends SharedInformerOptions {
  /** The mesh name namespaces are labelled with (`openservicemesh.io/monitored-by=<mesh>`). */
  readonly meshName: string;
  /** Where `osm-mesh-config` lives. */
  readonly controlPlaneNamespace: string;
}

const labelValues =
  (label: string) =>
  (obj: KubeObject): readonly string[] => {
    const v = obj.metadata.labels?.[label];
    return v === undefined ? [] : [v];
  };

/** Indexes the informers declare (`byIndex(name, value)`). */
export const indexNames = {
  namespace: 'namespace',
  /** Pods by `namespace/serviceAccountName`. */
  serviceAccount: 'serviceAccount',
  /** Pods by their `osm-proxy-uuid` label. */
  proxyUuid: 'proxyUuid',
  /** EndpointSlices by `namespace/<kubernetes.io/service-name>`. */
  service: 'service',
} as const;

const podIndexers: Indexers<KubeObject> = {
  [indexNames.namespace]: byNamespace,
  [indexNames.serviceAccount]: (pod) => {
    const sa = (pod as { spec?: { serviceAccountName?: unknown } }).spec?.serviceAccountName;
    return [`${pod.metadata.namespace ?? ''}/${typeof sa === 'string' && sa ? sa : 'default'}`];
  },
  [indexNames.proxyUuid]: labelValues(proxyUuidLabel),
};

const sliceIndexers: Indexers<KubeObject> = {
  [indexNames.namespace]: byNamespace,
  [indexNames.service]: (slice) => {
    const svc = slice.metadata.labels?.[serviceNameLabel];
    return svc ? [`${slice.metadata.namespace ?? ''}/${svc}`] : [];
  },
};

/**
 * Namespaces (monitored ones only, by label selector), the namespaced kinds of the mesh filtered to
 * monitored namespaces, and the MeshConfig. The namespaced informers start once the namespaces have
 * synced, so their first lists are already filtered. A namespace that joins the mesh later is listed
 * on its own by each of them while their cluster-wide watches keep running (`Informer.resync(ns)`);
 * one that leaves has its objects dropped (`Informer.prune(ns)`). As OSM's `IsMonitoredNamespace`
 * (pkg/k8s/informers.go), membership is the namespace informer's store; unlike OSM, objects of
 * other namespaces are not kept at all, so a join has to list them.
 */
export class MeshInformers {
  readonly namespaces: Informer<KubeObject>;
  readonly services: Informer<KubeObject>;
  readonly pods: Informer<KubeObject>;
  readonly endpointSlices: Informer<KubeObject>;
  readonly serviceAccounts: Informer<KubeObject>;
  readonly trafficTargets: Informer<KubeObject>;
  readonly httpRouteGroups: Informer<KubeObject>;
  readonly tcpRoutes: Informer<KubeObject>;
  readonly trafficSplits: Informer<KubeObject>;
  readonly meshConfigs: Informer<KubeObject>;
  readonly #namespaced: readonly Informer<KubeObject>[];
  #running = false;
  #namespacedStarted = false;
  #unsubscribe: (() => void) | undefined;

  constructor(options: MeshInformersOptions) {
    const common = {
      client: options.client,
      ...(options.logger ? { logger: options.logger } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.random ? { random: options.random } : {}),
      ...(options.backoff ? { backoff: options.backoff } : {}),
      ...(options.stallTimeoutMs === undefined ? {} : { stallTimeoutMs: options.stallTimeoutMs }),
      ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }),
      ...(options.watchTimeoutSeconds === undefined ? {} : { watchTimeoutSeconds: options.watchTimeoutSeconds }),
    };
    this.namespaces = new Informer({
      ...common,
      name: 'namespaces',
      path: kindPaths.namespaces,
      labelSelector: `${monitoredByLabel}=${options.meshName},!${ignoreLabel}`,
    });
    const keep = (obj: KubeObject): boolean => this.isMonitoredNamespace(obj.metadata.namespace);
    const namespaced = (name: NamespacedKind, indexers: Indexers<KubeObject> = { [indexNames.namespace]: byNamespace }): Informer<KubeObject> =>
      new Informer({ ...common, name, path: kindPaths[name], keep, indexers });
    this.services = namespaced('services');
    this.pods = namespaced('pods', podIndexers);
    this.endpointSlices = namespaced('endpointSlices', sliceIndexers);
    this.serviceAccounts = namespaced('serviceAccounts');
    this.trafficTargets = namespaced('trafficTargets');
    this.httpRouteGroups = namespaced('httpRouteGroups');
    this.tcpRoutes = namespaced('tcpRoutes');
    this.trafficSplits = namespaced('trafficSplits');
    this.#namespaced = [this.services, this.pods, this.endpointSlices, this.serviceAccounts, this.trafficTargets, this.httpRouteGroups, this.tcpRoutes, this.trafficSplits];
    this.meshConfigs = new Informer({
      ...common,
      name: 'meshConfigs',
      path: kindPaths.meshConfigs(options.controlPlaneNamespace),
      fieldSelector: `metadata.name=${meshConfigName}`,
    });
  }

  /** Every informer, namespaces first. */
  all(): readonly Informer<KubeObject>[] {
    return [this.namespaces, ...this.#namespaced, this.meshConfigs];
  }

  isMonitoredNamespace(namespace: string | undefined): boolean {
    return namespace !== undefined && this.namespaces.get(namespace) !== undefined;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#unsubscribe = this.namespaces.addHandler({
      onAdd: (ns) => {
        // Before the namespaced informers start, their first lists cover the namespace.
        if (!this.#namespacedStarted) return;
        for (const inf of this.#namespaced) inf.resync(ns.metadata.name);
      },
      onDelete: (ns) => {
        for (const inf of this.#namespaced) inf.prune(ns.metadata.name);
      },
      onSync: () => {
        if (!this.#running || this.#namespacedStarted) return;
        this.#namespacedStarted = true;
        for (const inf of this.#namespaced) inf.start();
      },
    });
    this.namespaces.start();
    this.meshConfigs.start();
  }

  stop(): void {
    this.#running = false;
    this.#namespacedStarted = false;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    for (const inf of this.all()) inf.stop();
  }

  hasSynced(): boolean {
    return this.all().every((inf) => inf.hasSynced());
  }

  /**
   * The informers whose list or watch keeps failing (the API server cannot be reached, say), with the
   * earliest failure and the last error; undefined while every one works. Their stores keep what they had.
   */
  failing(): { readonly informers: readonly string[]; readonly since: number; readonly lastError: string } | undefined {
    const failing = this.all().filter((inf) => inf.stats().failingSince !== undefined);
    if (failing.length === 0) return undefined;
    const since = Math.min(...failing.map((inf) => inf.stats().failingSince as number));
    return { informers: failing.map((inf) => inf.name), since, lastError: failing.map((inf) => inf.stats().lastError).find((e) => e !== undefined) ?? 'unknown error' };
  }

    async waitForSync(signal?: AbortSignal): Promise<void> {
    await Promise.all(this.all().map((inf) => inf.waitForSync(signal)));
  }
}
