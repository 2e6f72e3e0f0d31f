import { compareNamespacedNames, keyOf, sameName } from './identity.ts';
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

/** OSM's MeshConfig defaults (permissive mode off, trust domain cluster.local, 24 h certificates). */
export const defaultMeshSettings: MeshSettings = {
  permissiveMode: false,
  enableEgress: false,
  trustDomain: 'cluster.local',
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

/** The service a ref names, if it is in the mesh. */
export function getService(model: MeshModel, ref: ServiceRef): MeshService | undefined {
  return model.services.get(keyOf(ref));
}

/** The ready endpoints of a service, only those on `targetPort` when given (any order: sort before use). */
export function readyEndpoints(model: MeshModel, ref: ServiceRef, targetPort?: number): Endpoint[] {
  return (model.endpoints.get(keyOf(ref)) ?? []).filter((e) => e.ready && (targetPort === undefined || e.port === targetPort));
}

/** Services backed by pods running as `identity`, sorted by namespace/name. */
export function servicesOfIdentity(model: MeshModel, identity: ServiceIdentity): MeshService[] {
  const out: MeshService[] = [];
  for (const s of model.services.values()) if (s.identities.some((i) => sameName(i, identity))) out.push(s);
  return out.sort(compareNamespacedNames);
}

/** The TrafficSplit whose apex is the service (the first by namespace/name if several claim it). */
export function trafficSplitForApex(model: MeshModel, ref: ServiceRef): TrafficSplit | undefined {
  let found: TrafficSplit | undefined;
  for (const ts of model.trafficSplits.values()) {
    if (ts.namespace !== ref.namespace || ts.apexService !== ref.name) continue;
    if (!found || compareNamespacedNames(ts, found) < 0) found = ts;
  }
  return found;
}

/** TrafficTargets whose destination is `identity`, sorted by namespace/name. */
export function trafficTargetsTo(model: MeshModel, identity: ServiceIdentity): TrafficTarget[] {
  return [...model.trafficTargets.values()].filter((t) => sameName(t.destination, identity)).sort(compareNamespacedNames);
}

/** TrafficTargets that list `identity` among their sources, sorted by namespace/name. */
export function trafficTargetsFrom(model: MeshModel, identity: ServiceIdentity): TrafficTarget[] {
  return [...model.trafficTargets.values()].filter((t) => t.sources.some((s) => sameName(s, identity))).sort(compareNamespacedNames);
}

/**
 * The services a proxy running as `identity` may call, sorted by namespace/name. Permissive mode: every
 * mesh service. SMI mode: services backed by a destination identity of a TrafficTarget that lists
 * `identity` as a source, plus the apex of a TrafficSplit when one of its backends is reachable.
 * (Which routes and ports within them are allowed is the snapshot builder's concern.)
 */
export function outboundServices(model: MeshModel, identity: ServiceIdentity): MeshService[] {
  const all = [...model.services.values()];
  if (model.settings.permissiveMode) return all.sort(compareNamespacedNames);
  const destinations = trafficTargetsFrom(model, identity).map((t) => t.destination);
  const allowed = new Set<string>();
  for (const s of all) if (s.identities.some((i) => destinations.some((d) => sameName(d, i)))) allowed.add(keyOf(s));
  for (const ts of model.trafficSplits.values()) {
    if (ts.backends.some((b) => allowed.has(`${ts.namespace}/${b.service}`))) allowed.add(`${ts.namespace}/${ts.apexService}`);
  }
  return all.filter((s) => allowed.has(keyOf(s))).sort(compareNamespacedNames);
}

/** The services a proxy backs that are in the mesh, sorted by namespace/name. */
export function servicesOfProxy(model: MeshModel, proxy: Proxy): MeshService[] {
  const out: MeshService[] = [];
  for (const ref of proxy.services) {
    const s = getService(model, ref);
    if (s) out.push(s);
  }
  return out.sort(compareNamespacedNames);
}

/** Whether the namespace asked for Prometheus metrics (annotation `openservicemesh.io/metrics: enabled`). */
export function metricsEnabled(model: MeshModel, namespace: string): boolean {
  return model.namespaces.get(namespace)?.metricsEnabled ?? false;
}
