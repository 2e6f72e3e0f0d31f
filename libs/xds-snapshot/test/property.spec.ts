// Properties over random meshes: order independence, and that an endpoint change touches only EDS.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { keyOf } from '@osm/mesh-model';
import type { Endpoint, MeshModel, MeshService, ServiceIdentity } from '@osm/mesh-model';
import { buildSnapshot, checkConsistency, describeMissing, referencesOf, ResourceCache } from '../src/index.ts';
import type { Snapshot } from '../src/index.ts';
import { meshArb } from './arbitraries.ts';
import { fingerprint } from './helpers.ts';

/** A deterministic permutation source (mulberry32), so a failing case replays from its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffler(seed: number) {
  const next = rng(seed);
  const list = <T>(xs: readonly T[]): T[] => {
    const out = [...xs];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  };
  const map = <V>(m: ReadonlyMap<string, V>, f: (v: V) => V): Map<string, V> => new Map(list([...m.entries()]).map(([k, v]) => [k, f(v)]));
  const record = (r: Readonly<Record<string, string>>): Record<string, string> => Object.fromEntries(list(Object.entries(r)));
  const ids = (xs: readonly ServiceIdentity[]) => list(xs);
  return (model: MeshModel): MeshModel => ({
    settings: { ...model.settings },
    namespaces: map(model.namespaces, (n) => n),
    services: map(model.services, (s) => ({ ...s, ports: list(s.ports), clusterIps: list(s.clusterIps), identities: ids(s.identities) })),
    endpoints: map(model.endpoints, (e) => list(e)),
    proxies: map(model.proxies, (p) => ({ ...p, services: list(p.services) })),
    trafficTargets: map(model.trafficTargets, (t) => ({ ...t, sources: list(t.sources), rules: list(t.rules.map((r) => ({ ...r, matches: list(r.matches) }))) })),
    httpRouteGroups: map(model.httpRouteGroups, (g) => ({ ...g, matches: list(g.matches.map((m) => ({ ...m, methods: list(m.methods), headers: record(m.headers) }))) })),
    tcpRoutes: map(model.tcpRoutes, (r) => ({ ...r, matches: list(r.matches.map((m) => ({ ...m, ports: list(m.ports) }))) })),
    trafficSplits: map(model.trafficSplits, (s) => ({ ...s, backends: list(s.backends) })),
  });
}

const inputs = { certificate: { certificateChain: 'CHAIN', privateKey: 'KEY' }, trustBundle: 'ROOTS' };

function buildAll(model: MeshModel, cache?: ResourceCache): Map<string, Snapshot> {
  const out = new Map<string, Snapshot>();
  for (const p of model.proxies.values()) {
    const s = buildSnapshot(model, p, { ...inputs, ...(cache ? { cache } : {}) });
    const result = checkConsistency(s);
    assert.ok(result.consistent, describeMissing(result));
    // The references the builder declared are those in the bytes (what the consistency check relies on).
    for (const set of Object.values(s.types)) {
      for (const r of set.resources.values()) {
        const read = referencesOf(r.typeUrl, r.bytes);
        for (const k of ['routes', 'clusters', 'endpoints', 'secrets'] as const) assert.deepEqual([...r.refs[k]].sort(), [...read[k]].sort(), `${k} of ${r.type}/${r.name}`);
      }
    }
    out.set(p.uuid, s);
  }
  return out;
}

describe('snapshot properties', () => {
  it('shuffling every list and map of the model changes no byte and no version', () => {
    fc.assert(
      fc.property(meshArb, fc.integer(), (model, seed) => {
        const a = buildAll(model);
        const b = buildAll(shuffler(seed)(model));
        for (const [uuid, s] of a) assert.deepEqual(fingerprint(b.get(uuid) as Snapshot), fingerprint(s));
      }),
      { numRuns: 150 },
    );
  });

  it('a shared cache gives the same bytes as building alone', () => {
    fc.assert(
      fc.property(meshArb, (model) => {
        const cache = new ResourceCache();
        buildAll(model, cache); // fill it
        const shared = buildAll(model, cache);
        for (const [uuid, s] of buildAll(model)) assert.deepEqual(fingerprint(shared.get(uuid) as Snapshot), fingerprint(s));
      }),
      { numRuns: 50 },
    );
  });

  const changeArb = fc.tuple(meshArb, fc.nat(), fc.constantFrom('add', 'remove', 'flip'), fc.constantFrom('10.9.9.9', '10.1.0.1'));
  it('changing one endpoint changes only the EDS resources holding it and the EDS type version', () => {
    fc.assert(
      fc.property(changeArb, ([model, pick, op, ip]) => {
        // A headless service's endpoints are also its filter-chain destinations: change a ClusterIP one.
        const services = [...model.services.values()].filter((x) => x.clusterIps.length > 0);
        fc.pre(services.length > 0);
        const svc = services[pick % services.length] as MeshService;
        const key = keyOf(svc);
        const before = model.endpoints.get(key) ?? [];
        const port = svc.ports[0]?.targetPort ?? 8080;
        let after: Endpoint[];
        if (op === 'add' || before.length === 0) after = [...before, { ip, port, ready: true }];
        else if (op === 'remove') after = before.slice(1);
        else after = before.map((e, i) => (i === 0 ? { ...e, ready: !e.ready } : e));
        const changed: MeshModel = { ...model, endpoints: new Map([...model.endpoints, [key, after]]) };

        const cache = new ResourceCache();
        const a = buildAll(model, cache);
        const b = buildAll(changed, cache);
        for (const [uuid, sa] of a) {
          const sb = b.get(uuid) as Snapshot;
          for (const type of ['clusters', 'listeners', 'routes', 'secrets'] as const) {
            assert.deepEqual(fingerprint({ proxy: uuid, types: { ...sb.types, [type]: sb.types[type] } }).filter((l) => l.startsWith(type)), fingerprint(sa).filter((l) => l.startsWith(type)), `${type} of ${uuid}`);
          }
          const diff = [...sb.types.endpoints.resources.values()].filter((r) => sa.types.endpoints.resources.get(r.name)?.version !== r.version).map((r) => r.name);
          assert.deepEqual([...sb.types.endpoints.resources.keys()], [...sa.types.endpoints.resources.keys()], 'same EDS names');
          for (const name of diff) assert.ok(name.startsWith(`${key}|`), `${name} changed but only ${key} endpoints did`);
          assert.equal(sb.types.endpoints.version !== sa.types.endpoints.version, diff.length > 0, 'EDS type version changes exactly when an EDS resource did');
          if (op === 'add' && before.every((e) => e.ip !== ip || e.port !== port)) {
            // A new ready endpoint on the first port's pod port shows in that pod port's cluster, wherever the proxy has it.
            const cluster = `${key}|${port}`;
            if (sa.types.endpoints.resources.has(cluster)) assert.ok(diff.includes(cluster), `${cluster} should have changed for ${uuid}`);
          }
        }
      }),
      { numRuns: 150 },
    );
  });
});
