import { compareNamespacedNames, keyOf } from './identity.ts';
import type {
  Endpoint,
  HTTPRouteGroup,
  MeshModel,
  MeshNamespace,
  MeshService,
  MeshSettings,
  Proxy,
  ServiceIdentity,
  ServiceRef,
  TCPRoute,
  TrafficSplit,
  TrafficTarget,
} from './types.ts';

/**
 * Defaults as OSM's chart sets MeshConfig (charts/osm/values.yaml): permissive traffic policy mode and
 * egress on, trust domain cluster.local, 24 h service certificates, Envoy log level error.
 */
export const defaultMeshSettings: MeshSettings = {
  permissiveMode: true,
  enableEgress: true,
  trustDomain: 'cluster.local',
  clusterDomain: 'cluster.local',
  serviceCertValiditySeconds: 24 * 3600,
  envoyLogLevel: 'error',
  inboundPortExclusionList: [],
  outboundPortExclusionList: [],
  outboundIpRangeExclusionList: [],
  outboundIpRangeInclusionList: [],
};

/** The parts of a MeshModel as plain lists (any order); `meshModel` keys them. */
export interface MeshModelParts {
  readonly settings?: Partial<MeshSettings>;
  readonly namespaces?: readonly MeshNamespace[];
  readonly services?: readonly MeshService[];
  readonly endpoints?: readonly { readonly service: ServiceRef; readonly endpoints: readonly Endpoint[] }[];
  readonly proxies?: readonly Proxy[];
  readonly trafficTargets?: readonly TrafficTarget[];
  readonly httpRouteGroups?: readonly HTTPRouteGroup[];
  readonly tcpRoutes?: readonly TCPRoute[];
  readonly trafficSplits?: readonly TrafficSplit[];
}

function byKey<T extends { readonly namespace: string; readonly name: string }>(items: readonly T[] | undefined): Map<string, T> {
  return new Map((items ?? []).map((x) => [keyOf(x), x]));
}

/** Builds a MeshModel from lists; later entries win on duplicate keys. Settings default to defaultMeshSettings. */
export function meshModel(parts: MeshModelParts = {}): MeshModel {
  return {
    settings: { ...defaultMeshSettings, ...parts.settings },
    namespaces: new Map((parts.namespaces ?? []).map((n) => [n.name, n])),
    services: byKey(parts.services),
    endpoints: new Map((parts.endpoints ?? []).map((e) => [keyOf(e.service), e.endpoints])),
    proxies: new Map((parts.proxies ?? []).map((p) => [p.uuid, p])),
    trafficTargets: byKey(parts.trafficTargets),
    httpRouteGroups: byKey(parts.httpRouteGroups),
    tcpRoutes: byKey(parts.tcpRoutes),
    trafficSplits: byKey(parts.trafficSplits),
  };
}

/** The ready endpoints of a service, only those on `targetPort` when given (any order: sort before use). */
export function readyEndpoints(model: MeshModel, ref: ServiceRef, targetPort?: number): Endpoint[] {
  return (model.endpoints.get(keyOf(ref)) ?? []).filter((e) => e.ready && (targetPort === undefined || e.port === targetPort));
}

// Indexes over the (immutable) model's maps, built once per map object and kept as long as it lives.

/** A value derived from one object, computed on first use and kept with it. */
function derived<K extends object, V>(memo: WeakMap<K, V>, key: K, make: () => V): V {
  let v = memo.get(key);
  if (v === undefined) {
    v = make();
    memo.set(key, v);
  }
  return v;
}

interface TargetIndex {
  /** TrafficTargets by destination identity key, each list sorted by namespace/name. */
  readonly to: ReadonlyMap<string, readonly TrafficTarget[]>;
  /** Destination identity keys by source identity key. */
  readonly destinationsOf: ReadonlyMap<string, ReadonlySet<string>>;
}
const targetIndexes = new WeakMap<ReadonlyMap<string, TrafficTarget>, TargetIndex>();
function targetIndex(model: MeshModel): TargetIndex {
  return derived(targetIndexes, model.trafficTargets, () => {
    const to = new Map<string, TrafficTarget[]>();
    const destinationsOf = new Map<string, Set<string>>();
    for (const t of [...model.trafficTargets.values()].sort(compareNamespacedNames)) {
      const dest = keyOf(t.destination);
      const list = to.get(dest);
      if (list) list.push(t);
      else to.set(dest, [t]);
      for (const s of t.sources) {
        const set = destinationsOf.get(keyOf(s));
        if (set) set.add(dest);
        else destinationsOf.set(keyOf(s), new Set([dest]));
      }
    }
    return { to, destinationsOf };
  });
}

/** TrafficTargets whose destination is `identity`, sorted by namespace/name. */
export function trafficTargetsTo(model: MeshModel, identity: ServiceIdentity): readonly TrafficTarget[] {
  return targetIndex(model).to.get(keyOf(identity)) ?? [];
}

const splitIndexes = new WeakMap<ReadonlyMap<string, TrafficSplit>, ReadonlyMap<string, TrafficSplit>>();
/** The TrafficSplit whose apex is the service (the first by namespace/name if several claim it, as OSM picks one). */
export function trafficSplitForApex(model: MeshModel, ref: ServiceRef): TrafficSplit | undefined {
  const byApex = derived(splitIndexes, model.trafficSplits, () => {
    const out = new Map<string, TrafficSplit>();
    for (const ts of [...model.trafficSplits.values()].sort(compareNamespacedNames)) {
      const apex = `${ts.namespace}/${ts.apexService}`;
      if (!out.has(apex)) out.set(apex, ts);
    }
    return out;
  });
  return byApex.get(keyOf(ref));
}

const sortedServices = new WeakMap<ReadonlyMap<string, MeshService>, readonly MeshService[]>();
const reachable = new WeakMap<MeshModel['services'], WeakMap<MeshModel['trafficTargets'], WeakMap<MeshModel['trafficSplits'], Map<string, readonly MeshService[]>>>>();

/**
 * The services a proxy running as `identity` may call, sorted by namespace/name (OSM's
 * ListOutboundServicesForIdentity). Permissive mode: every mesh service. SMI mode: the services backed
 * by the destination identity of a TrafficTarget that lists `identity` as a source, whatever its rules
 * (the destination enforces them), plus the apex of a TrafficSplit when one of its backends is
 * reachable. The result is shared: callers must not change it.
 */
export function outboundServices(model: MeshModel, identity: ServiceIdentity): readonly MeshService[] {
  const all = derived(sortedServices, model.services, () => [...model.services.values()].sort(compareNamespacedNames));
  if (model.settings.permissiveMode) return all;
  const byIdentity = derived(derived(derived(reachable, model.services, () => new WeakMap()), model.trafficTargets, () => new WeakMap()), model.trafficSplits, () => new Map());
  const id = keyOf(identity);
  let out = byIdentity.get(id);
  if (!out) {
    const destinations = targetIndex(model).destinationsOf.get(id);
    const allowed = new Set<string>();
    if (destinations) for (const s of all) if (s.identities.some((i) => destinations.has(keyOf(i)))) allowed.add(keyOf(s));
    for (const ts of model.trafficSplits.values()) {
      if (ts.backends.some((b) => allowed.has(`${ts.namespace}/${b.service}`))) allowed.add(`${ts.namespace}/${ts.apexService}`);
    }
    out = all.filter((s) => allowed.has(keyOf(s)));
    byIdentity.set(id, out);
  }
  return out;
}

/** The services a proxy backs that are in the mesh, sorted by namespace/name. */
export function servicesOfProxy(model: MeshModel, proxy: Proxy): MeshService[] {
  const out: MeshService[] = [];
  for (const ref of proxy.services) {
    const s = model.services.get(keyOf(ref));
    if (s) out.push(s);
  }
  return out.sort(compareNamespacedNames);
}
