// Which proxies a change between two models affects. Pure. A proxy is affected when its own entry
// changed, when a service it backs changed, when a service it may call changed (definition,
// endpoints or split), when it backs a backend of a split whose definition or apex service changed
// (it serves the apex's hostnames), when a TrafficTarget naming its identity changed, when a route
// that a target to its identity uses changed (routes are enforced by the destination only), and every
// proxy when the mesh settings changed.
import { compareStrings, keyOf, type MeshModel, type Proxy, type ServiceIdentity } from '@osm/mesh-model';

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
  if (a === b) return []; // the translator hands on unchanged maps as the same object
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

/** Reverse lookups over one model, each built on first use and kept with the (immutable) model. */
class Relations {
  readonly model: MeshModel;
  #byIdentity: Map<string, string[]> | undefined;
  #byService: Map<string, string[]> | undefined;
  #sourcesOf: Map<string, Set<string>> | undefined;

  constructor(model: MeshModel) {
    this.model = model;
  }

  #index(key: (p: Proxy) => readonly string[]): Map<string, string[]> {
    const m = new Map<string, string[]>();
    for (const p of this.model.proxies.values()) {
      for (const k of key(p)) {
        const list = m.get(k);
        if (list) list.push(p.uuid);
        else m.set(k, [p.uuid]);
      }
    }
    return m;
  }

  proxiesOfIdentity(identityKey: string, out: Set<string>): void {
    this.#byIdentity ??= this.#index((p) => [keyOf(p.identity)]);
    for (const uuid of this.#byIdentity.get(identityKey) ?? []) out.add(uuid);
  }

  /** Proxies that back the service. */
  ownProxies(serviceKey: string, out: Set<string>): void {
    this.#byService ??= this.#index((p) => p.services.map(keyOf));
    for (const uuid of this.#byService.get(serviceKey) ?? []) out.add(uuid);
  }

  /** Proxies that back `serviceKey` but not `apexKey`. */
  ownProxiesNotBehind(serviceKey: string, apexKey: string, out: Set<string>): void {
    this.#byService ??= this.#index((p) => p.services.map(keyOf));
    const behindApex = new Set(this.#byService.get(apexKey));
    for (const uuid of this.#byService.get(serviceKey) ?? []) if (!behindApex.has(uuid)) out.add(uuid);
  }

  /** Proxies that may call the service: everyone in permissive mode, else sources of targets to its identities (or to its split backends'). */
  clientsOf(serviceKey: string, out: Set<string>): void {
    if (this.model.settings.permissiveMode) {
      for (const uuid of this.model.proxies.keys()) out.add(uuid);
      return;
    }
    if (!this.#sourcesOf) {
      this.#sourcesOf = new Map();
      for (const t of this.model.trafficTargets.values()) {
        const dest = keyOf(t.destination);
        let set = this.#sourcesOf.get(dest);
        if (!set) this.#sourcesOf.set(dest, (set = new Set()));
        for (const src of t.sources) set.add(keyOf(src));
      }
    }
    const services = [serviceKey];
    for (const ts of this.model.trafficSplits.values()) {
      if (`${ts.namespace}/${ts.apexService}` === serviceKey) for (const b of ts.backends) services.push(`${ts.namespace}/${b.service}`);
    }
    for (const key of services) {
      for (const id of this.model.services.get(key)?.identities ?? []) {
        for (const src of this.#sourcesOf.get(keyOf(id)) ?? []) this.proxiesOfIdentity(src, out);
      }
    }
  }
}

// Models are immutable, so their lookups can be kept with them (the previous model's come from the last diff).
const relationsOf = new WeakMap<MeshModel, Relations>();
function relations(model: MeshModel): Relations {
  let r = relationsOf.get(model);
  if (!r) relationsOf.set(model, (r = new Relations(model)));
  return r;
}

function targetIdentities(model: MeshModel, targetKey: string, out: Set<string>): void {
  const t = model.trafficTargets.get(targetKey);
  if (!t) return;
  out.add(keyOf(t.destination));
  for (const s of t.sources) out.add(keyOf(s as ServiceIdentity));
}

/** What changed from `prev` to `next`, and which proxies that affects. */
export function diffModels(prev: MeshModel, next: MeshModel): ModelDiff {
  const before = relations(prev);
  const after = relations(next);
  const affected = new Set<string>();
  const allProxies = !equalData(prev.settings, next.settings);

  const changedProxies = changedKeys(prev.proxies, next.proxies);
  for (const uuid of changedProxies) affected.add(uuid);

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
  // The pods of a split's backends also serve the apex's hostnames (inbound): when a split or its
  // apex service changes, the proxies behind every backend of every split on that apex are affected.
  const apexes = new Set<string>(changedServices);
  for (const key of changedSplits) {
    for (const m of [prev, next]) {
      const ts = m.trafficSplits.get(key);
      if (!ts) continue;
      clientSide.add(`${ts.namespace}/${ts.apexService}`);
      apexes.add(`${ts.namespace}/${ts.apexService}`);
      for (const b of ts.backends) clientSide.add(`${ts.namespace}/${b.service}`);
    }
  }
  // (Proxies behind the apex itself serve it as their own service; an apex change reaches them above.)
  if (apexes.size > 0) {
    for (const m of [prev, next]) {
      for (const ts of m.trafficSplits.values()) {
        const apex = `${ts.namespace}/${ts.apexService}`;
        if (!apexes.has(apex)) continue;
        for (const b of ts.backends) for (const r of [before, after]) r.ownProxiesNotBehind(`${ts.namespace}/${b.service}`, apex, affected);
      }
    }
  }
  for (const key of clientSide) for (const r of [before, after]) r.clientsOf(key, affected);

  // Policies: every identity a changed target names (before or after); the destination of a target
  // using a changed route (sources route every path of a service they may reach, whatever the routes).
  const changedTargets = new Set(changedKeys(prev.trafficTargets, next.trafficTargets));
  const changedRoutes = new Set([
    ...changedKeys(prev.httpRouteGroups, next.httpRouteGroups).map((k) => `HTTPRouteGroup/${k}`),
    ...changedKeys(prev.tcpRoutes, next.tcpRoutes).map((k) => `TCPRoute/${k}`),
  ]);
  const identities = new Set<string>();
  for (const key of changedTargets) for (const m of [prev, next]) targetIdentities(m, key, identities);
  if (changedRoutes.size > 0) {
    for (const m of [prev, next]) {
      for (const t of m.trafficTargets.values()) if (t.rules.some((r) => changedRoutes.has(`${r.kind}/${t.namespace}/${r.name}`))) identities.add(keyOf(t.destination));
    }
  }
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
