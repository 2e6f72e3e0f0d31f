// Properties over random meshes: order independence, and that an endpoint change touches only EDS.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { keyOf, meshModel } from '@osm/mesh-model';
import type { Endpoint, MeshModel, MeshService, Protocol, Proxy, ServiceIdentity } from '@osm/mesh-model';
import { buildSnapshot, checkConsistency, describeMissing, referencesOf, ResourceCache } from '../src/index.ts';
import type { Snapshot } from '../src/index.ts';
import { fingerprint } from './helpers.ts';

const NAMESPACES = ['alpha', 'beta', 'gamma'];
const NAMES = ['api', 'db', 'web', 'cache', 'auth'];
const SAS = ['sa1', 'sa2', 'sa3'];

const identityArb = fc.record({ namespace: fc.constantFrom(...NAMESPACES), name: fc.constantFrom(...SAS) });
const portArb = fc.record({
  name: fc.constantFrom('', 'http', 'tcp-x'),
  port: fc.constantFrom(80, 8080, 3306),
  targetPort: fc.constantFrom(8080, 9090, 3306),
  protocol: fc.constantFrom<Protocol>('http', 'tcp', 'grpc', 'tcp-server-first'),
});
const endpointArb = fc.record({ ip: fc.constantFrom('10.1.0.1', '10.1.0.2', '10.1.0.3', '10.1.0.4', 'fd00::5'), port: fc.constantFrom(8080, 9090, 3306), ready: fc.boolean() });

const serviceArb = (namespace: string, name: string, index: number): fc.Arbitrary<MeshService> =>
  fc.record({
    namespace: fc.constant(namespace),
    name: fc.constant(name),
    ports: fc.array(portArb, { minLength: 1, maxLength: 3 }),
    // Mostly ClusterIP services, some headless (their endpoint IPs go into the outbound filter chains).
    clusterIps: fc.constantFrom([`10.96.${NAMESPACES.indexOf(namespace)}.${index}`], [`10.96.${NAMESPACES.indexOf(namespace)}.${index}`], []),
    identities: fc.array(identityArb, { maxLength: 2 }),
  });

const meshArb: fc.Arbitrary<MeshModel> = fc
  .uniqueArray(fc.tuple(fc.constantFrom(...NAMESPACES), fc.constantFrom(...NAMES)), { minLength: 1, maxLength: 8, selector: ([ns, n]) => `${ns}/${n}` })
  .chain((keys) => {
    const services = fc.tuple(...keys.map(([ns, n], i) => serviceArb(ns, n, i + 1)));
    const ref = fc.constantFrom(...keys.map(([namespace, name]) => ({ namespace, name })));
    const match = fc.record({ name: fc.constantFrom('m1', 'm2', 'm3'), pathRegex: fc.option(fc.constantFrom('/a', '/b.*', '.*'), { nil: undefined }), methods: fc.subarray(['GET', 'POST', '*']), headers: fc.dictionary(fc.constantFrom('x-a', 'x-b', 'X-A'), fc.constantFrom('1', '2')) });
    return fc.record({
      permissive: fc.boolean(),
      egress: fc.boolean(),
      services,
      endpoints: fc.array(fc.record({ service: ref, endpoints: fc.array(endpointArb, { maxLength: 4 }) }), { maxLength: 8 }),
      proxies: fc.uniqueArray(
        fc.record({ uuid: fc.constantFrom('p1', 'p2', 'p3', 'p4'), identity: identityArb, podName: fc.constant('pod'), services: fc.array(ref, { maxLength: 3 }), prometheusScrape: fc.boolean() }),
        { minLength: 1, maxLength: 4, selector: (p) => p.uuid },
      ),
      groups: fc.uniqueArray(fc.record({ namespace: fc.constantFrom(...NAMESPACES), name: fc.constantFrom('g1', 'g2'), matches: fc.uniqueArray(match, { maxLength: 3, selector: (m) => m.name }) }), { maxLength: 3, selector: keyOf }),
      tcpRoutes: fc.uniqueArray(fc.record({ namespace: fc.constantFrom(...NAMESPACES), name: fc.constantFrom('t1', 't2'), matches: fc.array(fc.record({ name: fc.constantFrom('m1', 'm2'), ports: fc.subarray([3306, 8080, 9090]) }), { maxLength: 2 }) }), { maxLength: 3, selector: keyOf }),
      targets: fc.uniqueArray(
        fc.record({
          namespace: fc.constantFrom(...NAMESPACES),
          name: fc.constantFrom('tt1', 'tt2', 'tt3'),
          destination: fc.record({ kind: fc.constant('ServiceAccount' as const), namespace: fc.constantFrom(...NAMESPACES), name: fc.constantFrom(...SAS), port: fc.option(fc.constantFrom(8080, 3306), { nil: undefined }) }),
          sources: fc.array(fc.record({ kind: fc.constant('ServiceAccount' as const), namespace: fc.constantFrom(...NAMESPACES), name: fc.constantFrom(...SAS) }), { maxLength: 3 }),
          rules: fc.array(fc.record({ kind: fc.constantFrom('HTTPRouteGroup' as const, 'TCPRoute' as const), name: fc.constantFrom('g1', 'g2', 't1', 't2'), matches: fc.subarray(['m1', 'm2', 'm3']) }), { maxLength: 3 }),
        }),
        { maxLength: 5, selector: keyOf },
      ),
      splits: fc.uniqueArray(
        fc.record({ namespace: fc.constantFrom(...NAMESPACES), name: fc.constantFrom('s1', 's2'), apexService: fc.constantFrom(...NAMES), backends: fc.array(fc.record({ service: fc.constantFrom(...NAMES), weight: fc.integer({ min: 0, max: 100 }) }), { maxLength: 3 }) }),
        { maxLength: 3, selector: keyOf },
      ),
    });
  })
  .map((m) =>
    meshModel({
      settings: { permissiveMode: m.permissive, enableEgress: m.egress },
      namespaces: NAMESPACES.map((name) => ({ name })),
      services: m.services,
      // Unique by service, as the catalog's map is.
      endpoints: [...new Map(m.endpoints.map((e) => [keyOf(e.service), e])).values()],
      proxies: m.proxies.map((p): Proxy => ({ ...p, namespace: p.identity.namespace })),
      httpRouteGroups: m.groups,
      tcpRoutes: m.tcpRoutes,
      trafficTargets: m.targets,
      trafficSplits: m.splits,
    }),
  );

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
