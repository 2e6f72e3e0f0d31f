// Which proxies a change between two models affects. Pure. A proxy is affected when its own entry
// changed, when a service it backs changed, when a service it may call changed (definition,
// endpoints or split), when a TrafficTarget (or a route a target uses) naming its identity changed,
// when its namespace's switches changed, and every proxy when the mesh settings changed.
import { compareStrings, keyOf, type MeshModel, type ServiceIdentity } from '@osm/mesh-model';

/** Deep equality of plain data (what the translator outputs: objects, arrays, Maps, primitives). */
export function equalData(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!equalData(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  if (a instanceof Map) {
    if (!(b instanceof Map) || a.size !== b.size) return false;
    for (const [k, v] of a) if (!b.has(k) || !equalData(v, b.get(k))) return false;
    return true;
  }
  if (b instanceof Map) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k)) return false;
    if (!equalData((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

/** Keys whose values differ between two maps (present in one only, or not equal). */
export function changedKeys<V>(a: ReadonlyMap<string, V>, b: ReadonlyMap<string, V>): string[] {
  const out: string[] = [];
  for (const [k, v] of a) if (!b.has(k) || !equalData(v, b.get(k))) out.push(k);
  for (const k of b.keys()) if (!a.has(k)) out.push(k);
  return out.sort(compareStrings);
}

export interface ModelDiff {
  /** uuids of proxies (in either model) whose configuration may differ; sorted. */
  readonly affectedProxies: readonly string[];
  /** The mesh settings changed: every proxy is affected. */
  readonly allProxies: boolean;
  readonly changedServices: readonly string[];
  readonly changedEndpoints: readonly string[];
  readonly changedProxies: readonly string[];
  readonly changedPolicies: readonly string[];
}

/** Reverse lookups over one model, built once per diff. */
class Relations {
  readonly model: MeshModel;
  readonly proxiesByIdentity = new Map<string, string[]>();
  readonly proxiesByService = new Map<string, string[]>();
  readonly proxiesByNamespace = new Map<string, string[]>();
  /** destination identity key -> source identity keys allowed to reach it. */
  readonly sourcesOf = new Map<string, Set<string>>();

  constructor(model: MeshModel) {
    this.model = model;
    const push = (m: Map<string, string[]>, k: string, v: string): void => {
      const list = m.get(k);
      if (list) list.push(v);
      else m.set(k, [v]);
    };
    for (const p of model.proxies.values()) {
      push(this.proxiesByIdentity, keyOf(p.identity), p.uuid);
      push(this.proxiesByNamespace, p.namespace, p.uuid);
      for (const s of p.services) push(this.proxiesByService, keyOf(s), p.uuid);
    }
    for (const t of model.trafficTargets.values()) {
      const dest = keyOf(t.destination);
      let set = this.sourcesOf.get(dest);
      if (!set) this.sourcesOf.set(dest, (set = new Set()));
      for (const s of t.sources) set.add(keyOf(s));
    }
  }

  /** Proxies that may call the service: everyone in permissive mode, else sources of targets to its identities (or to its split backends'). */
  clientsOf(serviceKey: string, out: Set<string>): void {
    if (this.model.settings.permissiveMode) {
      for (const uuid of this.model.proxies.keys()) out.add(uuid);
      return;
    }
    const services = [serviceKey];
    for (const ts of this.model.trafficSplits.values()) {
      if (`${ts.namespace}/${ts.apexService}` === serviceKey) for (const b of ts.backends) services.push(`${ts.namespace}/${b.service}`);
    }
    for (const key of services) {
      for (const id of this.model.services.get(key)?.identities ?? []) {
        for (const src of this.sourcesOf.get(keyOf(id)) ?? []) for (const uuid of this.proxiesByIdentity.get(src) ?? []) out.add(uuid);
      }
    }
  }

  ownProxies(serviceKey: string, out: Set<string>): void {
    for (const uuid of this.proxiesByService.get(serviceKey) ?? []) out.add(uuid);
  }

  proxiesOfIdentity(identityKey: string, out: Set<string>): void {
    for (const uuid of this.proxiesByIdentity.get(identityKey) ?? []) out.add(uuid);
  }
}

function targetIdentities(model: MeshModel, targetKey: string, out: Set<string>): void {
  const t = model.trafficTargets.get(targetKey);
  if (!t) return;
  out.add(keyOf(t.destination));
  for (const s of t.sources) out.add(keyOf(s as ServiceIdentity));
}

/** What changed from `prev` to `next`, and which proxies that affects. */
export function diffModels(prev: MeshModel, next: MeshModel): ModelDiff {
  const before = new Relations(prev);
  const after = new Relations(next);
  const affected = new Set<string>();
  const allProxies = !equalData(prev.settings, next.settings);

  const changedProxies = changedKeys(prev.proxies, next.proxies);
  for (const uuid of changedProxies) affected.add(uuid);

  for (const ns of changedKeys(prev.namespaces, next.namespaces)) {
    for (const r of [before, after]) for (const uuid of r.proxiesByNamespace.get(ns) ?? []) affected.add(uuid);
  }

  // Services: a changed definition affects the proxies behind it and its clients; changed endpoints
  // or a changed split only the clients.
  const changedServices = changedKeys(prev.services, next.services);
  const changedEndpoints = changedKeys(prev.endpoints, next.endpoints);
  const clientSide = new Set<string>(changedEndpoints);
  for (const key of changedServices) {
    clientSide.add(key);
    for (const r of [before, after]) r.ownProxies(key, affected);
  }
  const changedSplits = changedKeys(prev.trafficSplits, next.trafficSplits);
  for (const key of changedSplits) {
    for (const m of [prev, next]) {
      const ts = m.trafficSplits.get(key);
      if (!ts) continue;
      clientSide.add(`${ts.namespace}/${ts.apexService}`);
      for (const b of ts.backends) clientSide.add(`${ts.namespace}/${b.service}`);
    }
  }
  for (const key of clientSide) for (const r of [before, after]) r.clientsOf(key, affected);

  // Policies: every identity a changed target names (before or after), and targets using a changed route.
  const changedTargets = new Set(changedKeys(prev.trafficTargets, next.trafficTargets));
  const changedRoutes = new Set([
    ...changedKeys(prev.httpRouteGroups, next.httpRouteGroups).map((k) => `HTTPRouteGroup/${k}`),
    ...changedKeys(prev.tcpRoutes, next.tcpRoutes).map((k) => `TCPRoute/${k}`),
  ]);
  if (changedRoutes.size > 0) {
    for (const m of [prev, next]) {
      for (const [key, t] of m.trafficTargets) if (t.rules.some((r) => changedRoutes.has(`${r.kind}/${t.namespace}/${r.name}`))) changedTargets.add(key);
    }
  }
  const identities = new Set<string>();
  for (const key of changedTargets) for (const m of [prev, next]) targetIdentities(m, key, identities);
  for (const id of identities) for (const r of [before, after]) r.proxiesOfIdentity(id, affected);

  if (allProxies) {
    for (const uuid of prev.proxies.keys()) affected.add(uuid);
    for (const uuid of next.proxies.keys()) affected.add(uuid);
  }
  return {
    affectedProxies: [...affected].sort(compareStrings),
    allProxies,
    changedServices,
    changedEndpoints,
    changedProxies,
    changedPolicies: [...[...changedTargets].map((k) => `TrafficTarget/${k}`), ...changedRoutes, ...changedSplits.map((k) => `TrafficSplit/${k}`)].sort(compareStrings),
  };
}
