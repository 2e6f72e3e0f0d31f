// Policy semantics: what one proxy may reach and who may reach it, as plain, sorted "plans" that fully
// determine the Envoy resources (resources.ts turns each plan into a message). Everything here is
// order-independent: every list of the model is treated as a set and sorted before use.
//
// The shape is OSM's (pkg/catalog/outbound_traffic_policies.go, inbound_traffic_policies.go,
// pkg/envoy/generator/rds): a client routes every path and method of each service it may reach (one
// wildcard route to the service's weighted clusters), and the destination enforces the HTTPRouteGroup
// matches on its inbound routes with per-route RBAC. So the outbound half depends only on which
// services an identity may reach and on the client's namespace (host names), and is shared by every
// identity with the same reachable set.
import { compareStrings, hostnamesForClient, keyOf, outboundServices, readyEndpoints, servicesOfProxy, spiffeId, trafficSplitForApex, trafficTargetsTo, workloadSpiffePrefix } from '@osm/mesh-model';
import type { Endpoint, MeshModel, MeshService, Protocol, Proxy, ServicePort, TrafficTarget } from '@osm/mesh-model';
import { INBOUND_ROOT_CERT, inboundRouteName, localClusterName, outboundRootCertName, outboundRouteName, serverName, TRACING_CLUSTER, upstreamClusterName } from './names.ts';

/** An HTTP request match: full-match path regex ('' = any path), methods (empty = any), header regexes (sorted by name). */
export interface HttpMatch {
  readonly pathRegex: string;
  readonly methods: readonly string[];
  readonly headers: readonly (readonly [string, string])[];
}

/** A cluster and its weight (weights only matter with more than one target). */
export interface WeightedTarget {
  readonly cluster: string;
  readonly weight: number;
}

/** A route: its match, where it goes, and (inbound, SMI mode) which principals may use it. */
export interface RouteRule {
  readonly match: HttpMatch;
  readonly targets: readonly WeightedTarget[];
  /** SPIFFE IDs allowed by per-route RBAC; undefined = no per-route RBAC (permissive mode, outbound). */
  readonly principals?: readonly string[];
}

export interface VirtualHostPlan {
  readonly name: string;
  readonly domains: readonly string[];
  readonly rules: readonly RouteRule[];
}

export interface RouteConfigPlan {
  readonly name: string;
  readonly virtualHosts: readonly VirtualHostPlan[];
}

export interface OutboundChainPlan {
  readonly name: string;
  readonly port: number;
  /** CIDRs (`ip/32`, `ip/128`) of the destination. */
  readonly prefixRanges: readonly string[];
  readonly protocol: Protocol;
  /** HTTP/gRPC: the route configuration. */
  readonly routeConfig?: string;
  /** HTTP/gRPC with MeshConfig tracing on: the Zipkin collector's span API path (the HCM traces to the tracing cluster). */
  readonly tracingEndpoint?: string;
  /** TCP: the clusters. */
  readonly targets?: readonly WeightedTarget[];
}

/** A network RBAC policy: connections from these principals are allowed. */
export interface NetworkPolicyPlan {
  readonly name: string;
  readonly principals: readonly string[];
}

export interface InboundChainPlan {
  readonly name: string;
  readonly targetPort: number;
  readonly serverName: string;
  readonly protocol: Protocol;
  /** HTTP/gRPC: the route configuration. */
  readonly routeConfig?: string;
  /** HTTP/gRPC with MeshConfig tracing on: the Zipkin collector's span API path (the HCM traces to the tracing cluster). */
  readonly tracingEndpoint?: string;
  /** TCP: the local cluster. */
  readonly localCluster?: string;
  /** TCP in SMI mode: the network RBAC policies (none = deny all); undefined = no RBAC filter. */
  readonly rbac?: readonly NetworkPolicyPlan[];
}

export type ClusterPlan =
  | { readonly kind: 'upstream'; readonly name: string; readonly protocol: Protocol; readonly sni: string; readonly validationSecret: string }
  | { readonly kind: 'local'; readonly name: string; readonly port: number; readonly protocol: Protocol }
  | { readonly kind: 'metrics'; readonly name: string }
  | { readonly kind: 'passthrough'; readonly name: string }
  | { readonly kind: 'tracing'; readonly name: string; readonly address: string; readonly port: number };

export interface EndpointsPlan {
  readonly name: string;
  /** `[ip, port]`, sorted. */
  readonly endpoints: readonly (readonly [string, number])[];
}

export interface ValidationSecretPlan {
  readonly name: string;
  /** URI SANs (SPIFFE IDs) a peer certificate must carry one of. */
  readonly sans: readonly string[];
  /**
   * Set when no SAN is named (permissive mode, or nobody is allowed): the URI SAN prefix every workload
   * certificate of the trust domain carries (`spiffe://<td>/ns/`). A proxy's bootstrap certificate is
   * signed by the same root but carries `spiffe://<td>/<uuid>/sidecar/...`, so it is never accepted as
   * a peer, not even where any workload is.
   */
  readonly sanPrefix?: string;
}

/** A validation context plan: the SANs when some are named, else any workload of the trust domain. */
function validationPlan(name: string, sans: readonly string[], td: string): ValidationSecretPlan {
  return sans.length > 0 ? { name, sans } : { name, sans, sanPrefix: workloadSpiffePrefix(td) };
}

/** Everything one proxy's snapshot is made of, sorted by name within each list. */
export interface ProxyPlan {
  readonly outboundChains: readonly OutboundChainPlan[];
  readonly egress: boolean;
  readonly inboundChains: readonly InboundChainPlan[];
  readonly prometheus: boolean;
  readonly routes: readonly RouteConfigPlan[];
  readonly clusters: readonly ClusterPlan[];
  readonly endpoints: readonly EndpointsPlan[];
  readonly validationSecrets: readonly ValidationSecretPlan[];
}

const ANY_MATCH: HttpMatch = { pathRegex: '', methods: [], headers: [] };
const matchKey = (m: HttpMatch): string => JSON.stringify(m);
const isHttp = (p: Protocol): boolean => p === 'http' || p === 'grpc';
/** The distinct strings of `xs`, sorted (a new array). */
function uniqSorted(xs: Iterable<string>): string[] {
  const out = Array.isArray(xs) ? (xs as string[]).slice() : [...xs];
  if (out.length < 2) return out;
  out.sort(compareStrings);
  let n = 1;
  for (let i = 1; i < out.length; i++) if (out[i] !== out[n - 1]) out[n++] = out[i] as string;
  out.length = n;
  return out;
}
const byName = <T extends { readonly name: string }>(a: T, b: T): number => compareStrings(a.name, b.name);
/** The tracing field of an HTTP filter chain: set only when MeshConfig tracing is on, so chains without it keep their keys and bytes. */
const tracingOf = (model: MeshModel): { tracingEndpoint?: string } => (model.settings.tracing ? { tracingEndpoint: model.settings.tracing.endpoint } : {});

function cidrOf(ip: string): string {
  return ip.includes(':') ? `${ip}/128` : `${ip}/32`;
}

function normalizeMethods(methods: readonly string[]): string[] {
  const upper = methods.map((m) => m.toUpperCase());
  return upper.length === 0 || upper.includes('*') ? [] : uniqSorted(upper);
}

/** The TrafficTargets (to the proxy's identity) that apply to a pod port: those without a destination port, or with this one. */
function targetsFor(tts: readonly TrafficTarget[], targetPort: number): TrafficTarget[] {
  return tts.filter((t) => t.destination.port === undefined || t.destination.port === targetPort);
}

/** A header name as Envoy matches it: lower case, and `host` is the `:authority` pseudo-header (OSM's rds route_config.go). */
const headerName = (name: string): string => (name.toLowerCase() === 'host' ? ':authority' : name.toLowerCase());

/** The HTTP matches a TrafficTarget's HTTPRouteGroup rules grant: the named ones only (a rule naming none grants nothing, as in OSM). */
function httpMatchesOf(model: MeshModel, tt: TrafficTarget): HttpMatch[] {
  const out: HttpMatch[] = [];
  for (const rule of tt.rules) {
    if (rule.kind !== 'HTTPRouteGroup') continue;
    const group = model.httpRouteGroups.get(`${tt.namespace}/${rule.name}`);
    if (!group) continue;
    for (const m of group.matches) {
      if (!rule.matches.includes(m.name)) continue;
      out.push({
        pathRegex: m.pathRegex && m.pathRegex !== '.*' ? m.pathRegex : '',
        methods: normalizeMethods(m.methods),
        headers: Object.entries(m.headers)
          .map(([k, v]) => [headerName(k), v] as const)
          .sort((a, b) => compareStrings(a[0], b[0]) || compareStrings(a[1], b[1])),
      });
    }
  }
  return out;
}

/** Whether a TrafficTarget's TCPRoute rules allow the pod port: a route without ports allows every port; the rule's match names do not matter (OSM). */
function tcpAllowedBy(model: MeshModel, tt: TrafficTarget, targetPort: number): boolean {
  for (const rule of tt.rules) {
    if (rule.kind !== 'TCPRoute') continue;
    const route = model.tcpRoutes.get(`${tt.namespace}/${rule.name}`);
    if (!route) continue;
    for (const m of route.matches) if (m.ports.length === 0 || m.ports.includes(targetPort)) return true;
  }
  return false;
}

/** Assigns each domain to the first virtual host (by name) that claims it: Envoy rejects duplicates. */
function routeConfig(name: string, vhosts: VirtualHostPlan[]): RouteConfigPlan {
  const claimed = new Set<string>();
  const out: VirtualHostPlan[] = [];
  for (const vh of vhosts.sort(byName)) {
    const domains = vh.domains.filter((d) => !claimed.has(d));
    for (const d of domains) claimed.add(d);
    if (domains.length > 0 && vh.rules.length > 0) out.push(domains.length === vh.domains.length ? vh : { ...vh, domains });
  }
  return { name, virtualHosts: out };
}

function sortPorts(ports: readonly ServicePort[]): ServicePort[] {
  const seen = new Map<number, ServicePort>();
  for (const p of [...ports].sort((a, b) => a.port - b.port || a.targetPort - b.targetPort || compareStrings(a.protocol, b.protocol) || compareStrings(a.name, b.name))) {
    if (!seen.has(p.port)) seen.set(p.port, p);
  }
  return [...seen.values()];
}

/** Where an upstream cluster's endpoints come from: a service's endpoints on one pod port. */
export interface EndpointsRef {
  readonly name: string;
  readonly service: string;
  readonly targetPort: number;
}

/** The outbound half of a proxy's plan: depends only on the services its identity may reach and its namespace. */
export interface OutboundPlan {
  readonly chains: readonly OutboundChainPlan[];
  readonly egress: boolean;
  readonly routes: readonly RouteConfigPlan[];
  readonly clusters: readonly ClusterPlan[];
  readonly endpoints: readonly EndpointsRef[];
  readonly validationSecrets: readonly ValidationSecretPlan[];
  /** True when a headless service's endpoint IPs went into the filter chains (then the plan depends on endpoints). */
  readonly usesEndpoints: boolean;
}

/** The inbound half of a proxy's plan: depends on its identity, the services it backs and its pod's metrics switch. */
export interface InboundPlan {
  readonly chains: readonly InboundChainPlan[];
  readonly prometheus: boolean;
  readonly routes: readonly RouteConfigPlan[];
  readonly clusters: readonly ClusterPlan[];
  readonly validationSecrets: readonly ValidationSecretPlan[];
}

/** The EDS plan of an upstream cluster: the service's ready endpoints on the pod port, sorted and deduplicated. */
export function endpointsPlan(model: MeshModel, ref: EndpointsRef): EndpointsPlan {
  return endpointsFrom(ref.name, model.endpoints.get(ref.service) ?? [], ref.targetPort);
}

/** The EDS plan of a cluster from a list of endpoints. */
export function endpointsFrom(name: string, list: readonly Endpoint[], targetPort: number): EndpointsPlan {
  const eps = list
    .filter((e) => e.ready && e.port === targetPort)
    .map((e) => [e.ip, e.port] as const)
    .sort((a, b) => compareStrings(a[0], b[0]) || a[1] - b[1]);
  return { name, endpoints: eps.filter((e, i) => i === 0 || e[0] !== eps[i - 1]?.[0]) };
}

// The validation context of an upstream service depends only on the (immutable) service object and the
// trust domain: one plan object per service, shared by every proxy's plan (so that the snapshot builder
// can memoize on it).
const validationPlans = new WeakMap<MeshService, { readonly td: string; readonly plan: ValidationSecretPlan }>();
function upstreamValidation(svc: MeshService, name: string, td: string): ValidationSecretPlan {
  const memo = validationPlans.get(svc);
  if (memo && memo.td === td && memo.plan.name === name) return memo.plan;
  const plan = validationPlan(name, uniqSorted(svc.identities.map((i) => spiffeId(i, td))), td);
  validationPlans.set(svc, { td, plan });
  return plan;
}

/**
 * Computes the outbound half for clients in `namespace` that may reach exactly `reachable` (the model's
 * outboundServices of their identity): per service port a filter chain on its cluster IPs, and for
 * HTTP a virtual host with one route for every path and method to the service's clusters (a
 * TrafficSplit apex: its backends that are reachable, by weight). Pure and order-independent.
 */
export function planOutbound(model: MeshModel, reachable: readonly MeshService[], namespace: string): OutboundPlan {
  const { trustDomain: td, clusterDomain } = model.settings;
  const clusters = new Map<string, ClusterPlan>();
  const endpoints = new Map<string, EndpointsRef>();
  const validation = new Map<string, ValidationSecretPlan>();
  let usesEndpoints = false;

  // Upstream cluster, its endpoints and its validation context, for a service port the proxy may call.
  const addUpstream = (svc: MeshService, port: ServicePort): string => {
    const name = upstreamClusterName(svc, port.targetPort);
    if (clusters.has(name)) return name;
    const validationSecret = outboundRootCertName(svc);
    clusters.set(name, { kind: 'upstream', name, protocol: port.protocol, sni: serverName(svc, clusterDomain), validationSecret });
    endpoints.set(name, { name, service: keyOf(svc), targetPort: port.targetPort });
    if (!validation.has(validationSecret)) validation.set(validationSecret, upstreamValidation(svc, validationSecret, td));
    return name;
  };
  const reachableKeys = new Set(reachable.map(keyOf));
  const tracing = tracingOf(model);
  const outboundChains: OutboundChainPlan[] = [];
  const outboundVhosts = new Map<number, VirtualHostPlan[]>();
  const claimedDestinations = new Set<string>();
  for (const svc of reachable) {
    const backends = splitBackends(model, svc, reachableKeys);
    for (const port of sortPorts(svc.ports)) {
      let targets: { svc: MeshService; port: ServicePort; weight: number }[] = [];
      for (const b of backends) {
        const bport = sortPorts(b.svc.ports).find((p) => p.port === port.port);
        if (bport) targets.push({ svc: b.svc, port: bport, weight: b.weight });
      }
      if (targets.length === 0) targets = [{ svc, port, weight: 1 }];

      const headless = svc.clusterIps.length === 0;
      if (headless) usesEndpoints = true;
      const ips = headless ? readyEndpoints(model, svc, port.targetPort).map((e) => e.ip) : svc.clusterIps;
      const prefixRanges = uniqSorted(ips.map(cidrOf)).filter((c) => !claimedDestinations.has(`${c}:${port.port}`));
      if (prefixRanges.length === 0) continue;
      for (const c of prefixRanges) claimedDestinations.add(`${c}:${port.port}`);

      const weighted = targets.map((t) => ({ cluster: addUpstream(t.svc, t.port), weight: t.weight }));
      const chainName = `outbound_${keyOf(svc)}_${port.port}_${port.protocol}`;
      if (isHttp(port.protocol)) {
        const rc = outboundRouteName(port.port);
        outboundChains.push({ name: chainName, port: port.port, prefixRanges, protocol: port.protocol, routeConfig: rc, ...tracing });
        const list = outboundVhosts.get(port.port) ?? [];
        list.push({
          name: `outbound_virtual-host|${keyOf(svc)}`,
          domains: hostnamesForClient(svc, port.port, namespace, clusterDomain),
          rules: [{ match: ANY_MATCH, targets: weighted }],
        });
        outboundVhosts.set(port.port, list);
      } else {
        outboundChains.push({ name: chainName, port: port.port, prefixRanges, protocol: port.protocol, targets: weighted });
      }
    }
  }

  const egress = model.settings.enableEgress;
  if (egress) clusters.set('passthrough-outbound', { kind: 'passthrough', name: 'passthrough-outbound' });
  // Every proxy gets the collector's cluster when tracing is on, whether it has HTTP chains or not (OSM: cds.go).
  const collector = model.settings.tracing;
  if (collector) clusters.set(TRACING_CLUSTER, { kind: 'tracing', name: TRACING_CLUSTER, address: collector.address, port: collector.port });
  const routes: RouteConfigPlan[] = [];
  for (const [port, vhosts] of outboundVhosts) routes.push(routeConfig(outboundRouteName(port), vhosts));
  return {
    chains: outboundChains.sort(byName),
    egress,
    routes: routes.sort(byName),
    clusters: [...clusters.values()].sort(byName),
    endpoints: [...endpoints.values()].sort(byName),
    validationSecrets: [...validation.values()].sort(byName),
    usesEndpoints,
  };
}

/**
 * Computes the inbound plan of a proxy (pure, order-independent): a filter chain per local service pod
 * port; HTTP routes by the local services' host names (and a split apex's, which clients send to the
 * backends). Permissive mode: every path. SMI mode: the matches the TrafficTargets to the proxy's
 * identity grant, each with RBAC naming the sources granted it, so a request on a route whose RBAC
 * denies the caller gets 403 from this proxy, and one matching no route 404 (OSM's behaviour).
 */
export function planInbound(model: MeshModel, proxy: Proxy): InboundPlan {
  const { trustDomain: td, clusterDomain, permissiveMode: permissive } = model.settings;
  const clusters = new Map<string, ClusterPlan>();
  const ttsToMe = permissive ? [] : trafficTargetsTo(model, proxy.identity);
  const inboundChains: InboundChainPlan[] = [];
  const inboundVhosts = new Map<number, VirtualHostPlan[]>();
  const locals = servicesOfProxy(model, proxy);
  const tracing = tracingOf(model);
  const localKeys = new Set(locals.map(keyOf));
  const inboundRules = (targetPort: number, cluster: string): RouteRule[] => {
    const target = [{ cluster, weight: 1 }];
    if (permissive) return [{ match: ANY_MATCH, targets: target }];
    const principals = new Map<string, { match: HttpMatch; principals: Set<string> }>();
    for (const tt of targetsFor(ttsToMe, targetPort)) {
      const sources = tt.sources.map((s) => spiffeId(s, td));
      if (sources.length === 0) continue;
      for (const m of httpMatchesOf(model, tt)) {
        const k = matchKey(m);
        const entry = principals.get(k) ?? { match: m, principals: new Set<string>() };
        for (const s of sources) entry.principals.add(s);
        principals.set(k, entry);
      }
    }
    return [...principals.entries()]
      .sort((a, b) => compareStrings(a[0], b[0]))
      .map(([, e]) => ({ match: e.match, targets: target, principals: uniqSorted(e.principals) }));
  };
  const addInboundVhost = (vhostSvc: MeshService, port: number, targetPort: number, cluster: string): void => {
    const list = inboundVhosts.get(targetPort) ?? [];
    const name = `inbound_virtual-host|${keyOf(vhostSvc)}`;
    // A proxy serves its services under every name, the bare one included (OSM: local namespace FQDN always allowed inbound).
    const domains = hostnamesForClient(vhostSvc, port, vhostSvc.namespace, clusterDomain);
    const i = list.findIndex((v) => v.name === name);
    const existing = list[i];
    // Two service ports on one pod port share the virtual host: the first one's routes, both ports' domains.
    if (existing) list[i] = { ...existing, domains: [...new Set([...existing.domains, ...domains])] };
    else list.push({ name, domains, rules: inboundRules(targetPort, cluster) });
    inboundVhosts.set(targetPort, list);
  };
  for (const svc of locals) {
    for (const port of sortPorts(svc.ports)) {
      const local = localClusterName(svc, port.targetPort);
      clusters.set(local, { kind: 'local', name: local, port: port.targetPort, protocol: port.protocol });
      const base = { name: `inbound_${keyOf(svc)}_${port.targetPort}_${port.protocol}`, targetPort: port.targetPort, serverName: serverName(svc, clusterDomain), protocol: port.protocol };
      if (isHttp(port.protocol)) {
        inboundChains.push({ ...base, routeConfig: inboundRouteName(port.targetPort), ...tracing });
        addInboundVhost(svc, port.port, port.targetPort, local);
        // Clients of a TrafficSplit apex send its host names to the backends' pods.
        for (const ts of model.trafficSplits.values()) {
          if (ts.namespace !== svc.namespace || !ts.backends.some((b) => b.service === svc.name && b.weight > 0)) continue;
          const apex = model.services.get(`${ts.namespace}/${ts.apexService}`);
          if (!apex || localKeys.has(keyOf(apex)) || trafficSplitForApex(model, apex) !== ts) continue;
          const apexPort = sortPorts(apex.ports).find((p) => p.port === port.port);
          if (apexPort) addInboundVhost(apex, apexPort.port, port.targetPort, local);
        }
      } else {
        const rbac = permissive
          ? undefined
          : targetsFor(ttsToMe, port.targetPort)
              .filter((tt) => tt.sources.length > 0 && tcpAllowedBy(model, tt, port.targetPort))
              .map((tt) => ({ name: keyOf(tt), principals: uniqSorted(tt.sources.map((s) => spiffeId(s, td))) }))
              .sort(byName);
        inboundChains.push({ ...base, localCluster: local, ...(rbac ? { rbac } : {}) });
      }
    }
  }
  // One filter chain per (pod port, server name): two services with the same name cannot exist, but keep it total.
  const seenChains = new Set<string>();
  const uniqueInbound = inboundChains.filter((c) => {
    const k = `${c.targetPort}|${c.serverName}`;
    if (seenChains.has(k)) return false;
    seenChains.add(k);
    return true;
  });

  const prometheus = proxy.prometheusScrape;
  if (prometheus) clusters.set('envoy-metrics-cluster', { kind: 'metrics', name: 'envoy-metrics-cluster' });
  const routes: RouteConfigPlan[] = [];
  for (const [port, vhosts] of inboundVhosts) routes.push(routeConfig(inboundRouteName(port), vhosts));
  const inboundSans = permissive ? [] : uniqSorted(ttsToMe.flatMap((t) => t.sources.map((s) => spiffeId(s, td))));
  return {
    chains: uniqueInbound.sort(byName),
    prometheus,
    routes: routes.sort(byName),
    clusters: [...clusters.values()].sort(byName),
    validationSecrets: [validationPlan(INBOUND_ROOT_CERT, inboundSans, td)],
  };
}

/** The whole plan of one proxy's snapshot (both halves, with the endpoints resolved). */
export function planProxy(model: MeshModel, proxy: Proxy): ProxyPlan {
  const out = planOutbound(model, outboundServices(model, proxy.identity), proxy.namespace);
  const inb = planInbound(model, proxy);
  return {
    outboundChains: out.chains,
    egress: out.egress,
    inboundChains: inb.chains,
    prometheus: inb.prometheus,
    routes: [...out.routes, ...inb.routes].sort(byName),
    clusters: [...out.clusters, ...inb.clusters].sort(byName),
    endpoints: out.endpoints.map((r) => endpointsPlan(model, r)),
    validationSecrets: [...out.validationSecrets, ...inb.validationSecrets].sort(byName),
  };
}

/**
 * The backends of the TrafficSplit on `apex` that the client may reach (existing services, positive
 * weight, sorted by name); none when there is no split. OSM sends to every backend; we leave out those
 * the client may not reach, whose share would otherwise fail.
 */
function splitBackends(model: MeshModel, apex: MeshService, reachable: ReadonlySet<string>): { svc: MeshService; weight: number }[] {
  const ts = trafficSplitForApex(model, apex);
  if (!ts) return [];
  const weights = new Map<string, number>();
  for (const b of ts.backends) if (b.weight > 0) weights.set(b.service, (weights.get(b.service) ?? 0) + b.weight);
  const out: { svc: MeshService; weight: number }[] = [];
  for (const [name, weight] of [...weights.entries()].sort((a, b) => compareStrings(a[0], b[0]))) {
    const backend = model.services.get(`${ts.namespace}/${name}`);
    if (backend && reachable.has(keyOf(backend))) out.push({ svc: backend, weight });
  }
  return out;
}
