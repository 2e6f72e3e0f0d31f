// B3: per-proxy snapshot build + serialize time, S = 100 / 1,000 / 5,000 services with 10 pods each, by
// default in permissive mode (every proxy receives every service: the largest snapshots). Figures per S:
//   full_cold_ms          empty cache: every resource of the proxy is built, encoded and hashed
//   full_new_namespace_ms shared cache warmed by a proxy of another namespace: the first proxy of a namespace
//                         (its outbound listener, routes and plan are per namespace in permissive mode;
//                         EDS, validation contexts, filter chains and most virtual hosts come from the cache)
//   full_new_identity_ms  a new identity in a namespace already built: its upstream clusters, inbound
//                         listener and certificate are encoded, the rest comes from the cache
//   full_same_identity_ms another pod of an identity already built: everything comes from the cache
//   endpoint_change_first_ms  after one endpoint of one service changed: rebuild of the first proxy (it
//                         encodes the changed EDS resource and computes the new EDS set)
//   endpoint_change_mean_ms   the same, mean over all sampled proxies (the others reuse that work)
//   fleet_avg_ms          the whole mesh (S x 10 proxies; the first --fleet services' pods, default all up
//                         to S = 1,000 and 100 services beyond) built in order from an empty cache, time / proxies
// Options: --services 100,1000,5000  --proxies 15 (sampled proxies per figure)  --fleet <services>
//          --mode permissive (default: every proxy gets every service) | smi (TrafficTargets: each identity
//          may call 20 services, HTTPRouteGroup or TCPRoute rules; figures suffixed _smi)
import { keyOf, meshModel } from '@osm/mesh-model';
import type { Endpoint, MeshModel, MeshService, Proxy, TrafficTarget } from '@osm/mesh-model';
import { buildSnapshot, checkConsistency, ResourceCache } from '@osm/xds-snapshot';
import type { SnapshotInputs } from '@osm/xds-snapshot';
import type { Benchmark, BenchResult } from './types.ts';

const PODS = 10;
const NAMESPACES = 20;

const median = (values: readonly number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? (s[(s.length - 1) / 2] ?? 0) : ((s[s.length / 2 - 1] ?? 0) + (s[s.length / 2] ?? 0)) / 2;
};

const ip = (n: number): string => `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;

/** Callers per service in SMI mode: service i may be called by the identities of services i+1 .. i+CALLERS. */
const CALLERS = 20;

function mesh(services: number, mode: 'permissive' | 'smi'): { model: MeshModel; proxies: Proxy[] } {
  const svcs: MeshService[] = [];
  const endpoints: { service: { namespace: string; name: string }; endpoints: Endpoint[] }[] = [];
  const proxies: Proxy[] = [];
  for (let i = 0; i < services; i++) {
    const namespace = `ns-${i % NAMESPACES}`;
    const name = `svc-${i}`;
    const tcp = i % 10 === 9;
    svcs.push({
      namespace,
      name,
      ports: [{ name: tcp ? 'tcp-db' : 'http', port: tcp ? 5432 : 80, targetPort: tcp ? 5432 : 8080, protocol: tcp ? 'tcp' : 'http' }],
      clusterIps: [ip(0x600000 + i)],
      identities: [{ namespace, name: `sa-${i}` }],
    });
    const eps: Endpoint[] = [];
    for (let p = 0; p < PODS; p++) {
      eps.push({ ip: ip(0x10000 + i * PODS + p), port: tcp ? 5432 : 8080, ready: true });
      proxies.push({ uuid: `proxy-${i}-${p}`, identity: { namespace, name: `sa-${i}` }, namespace, podName: `${name}-${p}`, services: [{ namespace, name }], prometheusScrape: i % 2 === 0 });
    }
    endpoints.push({ service: { namespace, name }, endpoints: eps });
  }
  // SMI: one TrafficTarget per destination identity, CALLERS sources, an HTTPRouteGroup (two matches)
  // or a TCPRoute per namespace.
  const smi = mode === 'smi';
  const targets: TrafficTarget[] = [];
  if (smi) {
    for (let i = 0; i < services; i++) {
      const svc = svcs[i] as MeshService;
      const tcp = svc.ports[0]?.protocol === 'tcp';
      targets.push({
        namespace: svc.namespace,
        name: `to-${svc.name}`,
        destination: { kind: 'ServiceAccount', namespace: svc.namespace, name: `sa-${i}` },
        sources: Array.from({ length: Math.min(CALLERS, services - 1) }, (_, k) => {
          const j = (i + 1 + k) % services;
          return { kind: 'ServiceAccount' as const, namespace: `ns-${j % NAMESPACES}`, name: `sa-${j}` };
        }),
        rules: [tcp ? { kind: 'TCPRoute', name: 'tcp', matches: [] } : { kind: 'HTTPRouteGroup', name: 'routes', matches: ['read', 'write'] }],
      });
    }
  }
  const namespaces = Array.from({ length: NAMESPACES }, (_, n) => `ns-${n}`);
  const model = meshModel({
    settings: { permissiveMode: !smi },
    trafficTargets: targets,
    httpRouteGroups: smi
      ? namespaces.map((namespace) => ({
          namespace,
          name: 'routes',
          matches: [
            { name: 'read', pathRegex: '/books/.*', methods: ['GET'], headers: {} as Record<string, string> },
            { name: 'write', pathRegex: '/books', methods: ['POST', 'PUT'], headers: { 'content-type': 'application/json' } },
          ],
        }))
      : [],
    tcpRoutes: smi ? namespaces.map((namespace) => ({ namespace, name: 'tcp', matches: [{ name: 'all', ports: [] }] })) : [],
    namespaces: Array.from({ length: NAMESPACES }, (_, n) => ({ name: `ns-${n}` })),
    services: svcs,
    endpoints,
    proxies,
  });
  return { model, proxies };
}

const inputsFor = (p: Proxy, cache: ResourceCache): SnapshotInputs => ({
  certificate: { certificateChain: `chain of ${keyOf(p.identity)}`, privateKey: `key of ${keyOf(p.identity)}` },
  trustBundle: 'mesh roots',
  cache,
});

function time(f: () => void): number {
  const t = performance.now();
  f();
  return performance.now() - t;
}

function measure(services: number, mode: 'permissive' | 'smi', samples: number, fleetServices: number, progress: (line: string) => void): BenchResult[] {
  const { model, proxies } = mesh(services, mode);
  // Sampled proxies: pod 0 of services spread over the range (distinct identities and namespaces).
  const step = Math.max(1, Math.floor(services / samples));
  const sample = Array.from({ length: Math.min(samples, services) }, (_, k) => proxies[k * step * PODS] as Proxy);

  // Warm-up (JIT) on a throwaway cache.
  for (const p of sample.slice(0, 3)) buildSnapshot(model, p, inputsFor(p, new ResourceCache()));

  const cold = sample.map((p) => time(() => buildSnapshot(model, p, inputsFor(p, new ResourceCache()))));

  // Shared cache: pod 0 of services 0..19 is the first proxy of each namespace (service i is in ns-(i % 20)).
  const shared = new ResourceCache();
  const first = proxies[0] as Proxy;
  buildSnapshot(model, first, inputsFor(first, shared));
  const firstOfNs = Array.from({ length: Math.min(NAMESPACES, services) - 1 }, (_, k) => proxies[(k + 1) * PODS] as Proxy);
  const newNamespace = firstOfNs.map((p) => time(() => buildSnapshot(model, p, inputsFor(p, shared))));
  const newIdentity = sample.slice(1).map((p) => time(() => buildSnapshot(model, p, inputsFor(p, shared))));
  const sameIdentity = sample.slice(1).map((p, k) => {
    const sibling = proxies[(k + 1) * step * PODS + 1] as Proxy; // pod 1 of the same service
    return time(() => buildSnapshot(model, sibling, inputsFor(sibling, shared)));
  });

  // One endpoint change per round, then rebuild every sampled proxy (each holds that service's EDS).
  // The first proxy rebuilt after a change pays for the new EDS resource and EDS set; proxies with the
  // same upstream set reuse them. Reported: the first rebuild, and the mean over all rebuilt proxies.
  let current = model;
  const changeFirst: number[] = [];
  const changeMean: number[] = [];
  for (let round = 0; round < 7; round++) {
    const svc = [...current.services.values()][(round * 7919) % services] as MeshService;
    const eps = current.endpoints.get(keyOf(svc)) ?? [];
    const changed = eps.map((e, i) => (i === 0 ? { ...e, ready: !e.ready } : e));
    current = { ...current, endpoints: new Map([...current.endpoints, [keyOf(svc), changed]]) };
    const times = sample.slice(1).map((p) => time(() => buildSnapshot(current, p, inputsFor(p, shared))));
    changeFirst.push(times[0] ?? 0);
    changeMean.push(times.reduce((a, b) => a + b, 0) / times.length);
  }

  // A fleet build from an empty cache, in order (what a restarted controller does), as an average per
  // proxy: the pods of the first fleetServices services (see run()).
  const fleet = proxies.slice(0, Math.min(proxies.length, fleetServices * PODS));
  const fleetCache = new ResourceCache();
  const heapBefore = process.memoryUsage().heapUsed;
  const fleetMs = time(() => {
    for (const p of fleet) buildSnapshot(model, p, inputsFor(p, fleetCache));
  });
  const heapMiB = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;

  const check = buildSnapshot(current, first, inputsFor(first, shared));
  if (!checkConsistency(check).consistent) throw new Error('B3: inconsistent snapshot');
  const size = [...Object.values(check.types)].reduce((n, t) => n + t.resources.size, 0);
  const bytes = [...Object.values(check.types)].reduce((n, t) => n + [...t.resources.values()].reduce((m, r) => m + r.bytes.length, 0), 0);
  progress(`S=${services} (${mode}): ${size} resources, ${(bytes / 1024).toFixed(0)} KiB per proxy; cache ${shared.size} entries; fleet of ${fleet.length} proxies built in ${(fleetMs / 1000).toFixed(2)} s, its cache holds ${fleetCache.size} resources, heap +${heapMiB.toFixed(0)} MiB`);

  const sfx = mode === 'smi' ? `S${services}_smi` : `S${services}`;
  const results: BenchResult[] = [
    { name: `full_cold_ms_${sfx}`, value: median(cold), unit: 'ms/proxy' },
    { name: `full_new_namespace_ms_${sfx}`, value: median(newNamespace), unit: 'ms/proxy' },
    { name: `full_new_identity_ms_${sfx}`, value: median(newIdentity), unit: 'ms/proxy' },
    { name: `full_same_identity_ms_${sfx}`, value: median(sameIdentity), unit: 'ms/proxy' },
    { name: `endpoint_change_first_ms_${sfx}`, value: median(changeFirst), unit: 'ms/proxy' },
    { name: `endpoint_change_mean_ms_${sfx}`, value: median(changeMean), unit: 'ms/proxy' },
    { name: `fleet_avg_ms_${sfx}`, value: fleetMs / fleet.length, unit: 'ms/proxy' },
  ];
  for (const r of results) progress(`${r.name} = ${r.value.toFixed(3)} ${r.unit}`);
  return results;
}

export const B3: Benchmark = {
  id: 'B3',
  description: 'snapshot build + serialize per proxy, S = 100/1,000/5,000 services x 10 pods, full and after one endpoint change (medians)',
  async run(options, progress) {
    const sizes = (options['services'] ?? '100,1000,5000').split(',').map(Number);
    const samples = Number(options['proxies'] ?? 15);
    const fleetOption = options['fleet'];
    const mode = options['mode'] ?? 'permissive';
    if (mode !== 'permissive' && mode !== 'smi') throw new Error(`--mode must be permissive or smi, not '${mode}'`);
    const results: BenchResult[] = [];
    for (const s of sizes) {
      // The whole mesh up to 1,000 services; beyond, 100 services' pods (5,000 x 1,000 identities' clusters take ~3 GiB).
      const fleetServices = fleetOption !== undefined ? Number(fleetOption) : s <= 1000 ? s : 100;
      results.push(...measure(s, mode, samples, fleetServices, progress));
      await new Promise((resolve) => setImmediate(resolve));
    }
    return results;
  },
};
