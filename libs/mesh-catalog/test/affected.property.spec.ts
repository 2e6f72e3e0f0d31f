// Property: diffModels never under-reports. For a random small mesh (Kubernetes objects through the
// translator) and a random sequence of batches of changes (add, remove or modify a namespace, pod,
// service, stray endpoint, TrafficTarget, HTTPRouteGroup, TCPRoute or TrafficSplit; flip permissive
// mode), every proxy whose snapshot versions differ across a batch (or which appeared or disappeared)
// is in `affectedProxies`, or `allProxies` is set. Ground truth is @osm/xds-snapshot's buildSnapshot
// on both models with the same certificate inputs. The generator is biased towards one namespace, one
// app in versions and SMI mode, so that policies, splits and pods meet; each run is up to 8 batches.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { metricsAnnotation, type MeshModel } from '@osm/mesh-model';
import { buildSnapshot, RESOURCE_TYPES } from '@osm/xds-snapshot';
import { diffModels } from '../src/affected.ts';
import type { K8sServicePort, KubeObjects } from '../src/kube-types.ts';
import { translate, Translator } from '../src/translate.ts';
import { emptyObjects, httpRouteGroup, meshConfig, namespace, pod, service, serviceAccount, slice, tcpRoute, trafficSplit, trafficTarget } from './fixtures.ts';

// ---- the world: fixed slots, each empty or holding a spec; a change replaces one slot (add, remove or modify)

const NS = ['a', 'b'] as const;
const SAS = ['sa1', 'sa2'] as const;
/** Service slot i is always named SERVICE_NAMES[i] (its namespace varies), so keys never collide. */
const SERVICE_NAMES = ['web', 'web-v1', 'web-v2', 'api', 'db'] as const;
const PORTS: readonly (K8sServicePort & { port: number; targetPort: number })[] = [
  { name: 'http-web', port: 80, targetPort: 8080 },
  { name: 'tcp-db', port: 5432, targetPort: 5432 },
  { name: 'grpc-api', port: 9000, targetPort: 9000 },
  { name: 'web', port: 8080, targetPort: 8080 }, // no prefix: http
];
const GROUP_NAMES = ['g1', 'g2'] as const; // HTTPRouteGroup slots: NS x GROUP_NAMES
const TCP_NAMES = ['r1'] as const; // TCPRoute slots: NS x TCP_NAMES
const POD_SLOTS = 6;
const TARGET_SLOTS = 4;
const SPLIT_SLOTS = 2;

interface NsSpec {
  readonly metrics: boolean;
}
interface PodSpec {
  readonly ns: string;
  readonly app: string;
  readonly version: string | undefined;
  readonly sa: string;
  readonly proxy: boolean;
  readonly ready: boolean;
  readonly finished: boolean;
}
interface ServiceSpec {
  readonly ns: string;
  readonly app: string;
  readonly version: string | undefined;
  readonly ports: readonly number[]; // indexes into PORTS
  readonly headless: boolean;
}
/** An endpoint in a service's slice that is not one of its selected pods (a terminating or foreign address). */
interface ExtraEndpointSpec {
  readonly ip: string;
  readonly ready: boolean;
  readonly port: number;
}
interface TargetSpec {
  readonly ns: string;
  readonly dest: string;
  readonly port: number | undefined;
  readonly sources: readonly { readonly ns: string; readonly sa: string }[];
  readonly rules: readonly { readonly kind: string; readonly name: string; readonly matches: readonly string[] }[];
}
interface GroupSpec {
  readonly matches: readonly { readonly name: string; readonly pathRegex: string | undefined; readonly methods: readonly string[] }[];
}
interface TcpSpec {
  readonly ports: readonly number[];
}
interface SplitSpec {
  readonly ns: string;
  readonly apex: string;
  readonly backends: readonly { readonly service: string; readonly weight: number }[];
}

interface World {
  readonly permissive: boolean;
  readonly namespaces: readonly (NsSpec | undefined)[];
  readonly pods: readonly (PodSpec | undefined)[];
  readonly services: readonly (ServiceSpec | undefined)[];
  readonly extraEndpoints: readonly (ExtraEndpointSpec | undefined)[];
  readonly targets: readonly (TargetSpec | undefined)[];
  readonly groups: readonly (GroupSpec | undefined)[];
  readonly tcpRoutes: readonly (TcpSpec | undefined)[];
  readonly splits: readonly (SplitSpec | undefined)[];
}

// Mostly one namespace, so that services, pods, policies and splits meet; sometimes across two.
const nsArb = fc.oneof({ arbitrary: fc.constant('a'), weight: 3 }, { arbitrary: fc.constant('b'), weight: 1 });
const saArb = fc.constantFrom(...SAS);
const versionArb = fc.constantFrom(undefined, 'v1', 'v2');
const appArb = fc.constantFrom('web', 'web', 'web', 'api', 'db'); // mostly one app, in versions: the shape of a split
const nsSpecArb: fc.Arbitrary<NsSpec> = fc.record({ metrics: fc.boolean() });
const podArb: fc.Arbitrary<PodSpec> = fc.record({
  ns: nsArb,
  app: appArb,
  version: fc.constantFrom(undefined, 'v1', 'v1', 'v2', 'v2'),
  sa: saArb,
  proxy: fc.oneof({ arbitrary: fc.constant(true), weight: 5 }, { arbitrary: fc.constant(false), weight: 1 }),
  ready: fc.oneof({ arbitrary: fc.constant(true), weight: 4 }, { arbitrary: fc.constant(false), weight: 1 }),
  finished: fc.oneof({ arbitrary: fc.constant(false), weight: 6 }, { arbitrary: fc.constant(true), weight: 1 }),
});
const serviceArb: fc.Arbitrary<ServiceSpec> = fc.record({
  ns: nsArb,
  app: appArb,
  version: versionArb,
  ports: fc.uniqueArray(fc.constantFrom(0, 0, 0, 1, 2, 3), { minLength: 1, maxLength: 2 }), // mostly http-web, so that splits line up
  headless: fc.oneof({ arbitrary: fc.constant(false), weight: 5 }, { arbitrary: fc.constant(true), weight: 1 }),
});
const extraEndpointArb: fc.Arbitrary<ExtraEndpointSpec> = fc.record({
  ip: fc.constantFrom('10.2.0.1', '10.2.0.2', '10.1.0.1'),
  ready: fc.boolean(),
  port: fc.constantFrom(8080, 5432, 9000),
});
const targetArb: fc.Arbitrary<TargetSpec> = fc.record({
  ns: nsArb,
  dest: saArb,
  port: fc.constantFrom(undefined, undefined, 8080, 5432),
  sources: fc.array(fc.record({ ns: nsArb, sa: saArb }), { minLength: 1, maxLength: 2 }),
  rules: fc.array(
    fc.oneof(
      fc.record({ kind: fc.constant('HTTPRouteGroup'), name: fc.constantFrom(...GROUP_NAMES), matches: fc.constantFrom([], [], ['m1'], ['m2'], ['m1', 'm2']) }),
      fc.record({ kind: fc.constant('TCPRoute'), name: fc.constantFrom(...TCP_NAMES), matches: fc.constant([]) }),
    ),
    { minLength: 1, maxLength: 2 },
  ),
});
const groupArb: fc.Arbitrary<GroupSpec> = fc.record({
  matches: fc.uniqueArray(
    fc.record({ name: fc.constantFrom('m1', 'm2'), pathRegex: fc.constantFrom(undefined, '/a', '/b.*', '.*'), methods: fc.subarray(['GET', 'POST', '*']) }),
    { minLength: 1, maxLength: 2, selector: (m) => m.name },
  ),
});
const tcpArb: fc.Arbitrary<TcpSpec> = fc.record({ ports: fc.subarray([8080, 5432, 9000]) });
const splitArb: fc.Arbitrary<SplitSpec> = fc.record({
  ns: nsArb,
  apex: fc.constantFrom('web', 'web', 'web', 'api', 'web-v1'),
  backends: fc.uniqueArray(fc.record({ service: fc.constantFrom('web-v1', 'web-v2', 'web-v2', 'db'), weight: fc.constantFrom(0, 50, 50, 100) }), { minLength: 1, maxLength: 3, selector: (b) => b.service }),
});

const slots = <T>(arb: fc.Arbitrary<T>, n: number, freq: number): fc.Arbitrary<(T | undefined)[]> => fc.array(fc.option(arb, { nil: undefined, freq }), { minLength: n, maxLength: n });

const worldArb: fc.Arbitrary<World> = fc.record({
  // Mostly SMI mode: in permissive mode every change to a service reaches every proxy anyway.
  permissive: fc.oneof({ arbitrary: fc.constant(false), weight: 3 }, { arbitrary: fc.constant(true), weight: 1 }),
  namespaces: slots(nsSpecArb, NS.length, 8),
  pods: slots(podArb, POD_SLOTS, 3),
  services: slots(serviceArb, SERVICE_NAMES.length, 3),
  extraEndpoints: slots(extraEndpointArb, SERVICE_NAMES.length, 1),
  targets: slots(targetArb, TARGET_SLOTS, 3),
  groups: slots(groupArb, NS.length * GROUP_NAMES.length, 6),
  tcpRoutes: slots(tcpArb, NS.length * TCP_NAMES.length, 2),
  splits: slots(splitArb, SPLIT_SLOTS, 2),
});

type SlotKind = Exclude<keyof World, 'permissive'>;
type Change = { readonly kind: 'permissive' } | { readonly kind: SlotKind; readonly slot: number; readonly value: unknown };

const slotChange = <T>(kind: SlotKind, n: number, arb: fc.Arbitrary<T>): fc.Arbitrary<Change> =>
  fc.record({ kind: fc.constant(kind), slot: fc.nat(n - 1), value: fc.option(arb, { nil: undefined, freq: 3 }) });

const changeArb: fc.Arbitrary<Change> = fc.oneof(
  { arbitrary: fc.constant({ kind: 'permissive' as const }), weight: 1 },
  { arbitrary: slotChange('namespaces', NS.length, nsSpecArb), weight: 1 },
  { arbitrary: slotChange('pods', POD_SLOTS, podArb), weight: 1 },
  { arbitrary: slotChange('services', SERVICE_NAMES.length, serviceArb), weight: 2 },
  { arbitrary: slotChange('extraEndpoints', SERVICE_NAMES.length, extraEndpointArb), weight: 1 },
  { arbitrary: slotChange('targets', TARGET_SLOTS, targetArb), weight: 1 },
  { arbitrary: slotChange('groups', NS.length * GROUP_NAMES.length, groupArb), weight: 1 },
  { arbitrary: slotChange('tcpRoutes', NS.length * TCP_NAMES.length, tcpArb), weight: 1 },
  { arbitrary: slotChange('splits', SPLIT_SLOTS, splitArb), weight: 2 },
);

function applyChange(w: World, c: Change): World {
  if (c.kind === 'permissive') return { ...w, permissive: !w.permissive };
  const list = [...w[c.kind]];
  list[c.slot] = c.value as never;
  return { ...w, [c.kind]: list };
}

// ---- the Kubernetes objects of a world, built the way the API server would hold them

const podIp = (slot: number): string => `10.1.0.${slot + 1}`;
const labelsOf = (app: string, version: string | undefined): Record<string, string> => ({ app, ...(version ? { version } : {}) });

/** Equal objects (by JSON) are the very same object, as an informer's store hands on unchanged objects. */
function interner(): <T>(o: T) => T {
  const seen = new Map<string, unknown>();
  return <T>(o: T): T => {
    const key = JSON.stringify(o);
    const prev = seen.get(key);
    if (prev !== undefined) return prev as T;
    seen.set(key, o);
    return o;
  };
}

function objectsOf(w: World, intern: <T>(o: T) => T): KubeObjects {
  const o = emptyObjects();
  NS.forEach((name, i) => {
    const n = w.namespaces[i];
    if (n) o.namespaces.push(intern(namespace(name, n.metrics ? { [metricsAnnotation]: 'enabled' } : {})));
  });
  for (const ns of NS) for (const sa of SAS) o.serviceAccounts.push(intern(serviceAccount(ns, sa)));
  w.pods.forEach((p, i) => {
    if (!p) return;
    const labels = { ...labelsOf(p.app, p.version), ...(p.proxy ? { 'osm-proxy-uuid': `u${i}` } : {}) };
    o.pods.push(intern(pod(p.ns, `p${i}`, labels, p.sa, podIp(i), p.finished ? { status: { phase: 'Succeeded', podIP: podIp(i) } } : {})));
  });
  w.services.forEach((s, i) => {
    if (!s) return;
    const name = SERVICE_NAMES[i] as string;
    const selector = labelsOf(s.app, s.version);
    const ports = s.ports.map((k) => PORTS[k] as K8sServicePort & { port: number; targetPort: number });
    o.services.push(intern(service(s.ns, name, selector, ports, s.headless ? 'None' : `10.96.0.${i + 1}`)));
    // The EndpointSlice controller's view: the selected running pods, ready as the pod is, plus a stray address.
    const endpoints: { ip: string; ready?: boolean; pod?: string }[] = [];
    w.pods.forEach((p, j) => {
      if (!p || p.finished || p.ns !== s.ns || !Object.entries(selector).every(([k, v]) => labelsOf(p.app, p.version)[k] === v)) return;
      endpoints.push({ ip: podIp(j), ready: p.ready, pod: `p${j}` });
    });
    const extra = w.extraEndpoints[i];
    const slicePorts = ports.map((p) => ({ ...(p.name === undefined ? {} : { name: p.name }), port: p.targetPort }));
    o.endpointSlices.push(intern(slice(s.ns, `${name}-abc`, name, endpoints, slicePorts)));
    if (extra) o.endpointSlices.push(intern(slice(s.ns, `${name}-xyz`, name, [{ ip: extra.ip, ready: extra.ready }], [{ port: extra.port }])));
  });
  w.targets.forEach((t, i) => {
    if (!t) return;
    const tt = trafficTarget(t.ns, `tt${i}`, t.dest, [...t.sources], t.rules.map((r) => ({ kind: r.kind, name: r.name, ...(r.matches.length > 0 ? { matches: [...r.matches] } : {}) })));
    o.trafficTargets.push(intern(t.port === undefined ? tt : { ...tt, spec: { ...tt.spec, destination: { ...tt.spec?.destination, port: t.port } } }));
  });
  w.groups.forEach((g, i) => {
    if (!g) return;
    const ns = NS[Math.floor(i / GROUP_NAMES.length)] as string;
    const matches = g.matches.map((m) => ({ name: m.name, methods: [...m.methods], ...(m.pathRegex === undefined ? {} : { pathRegex: m.pathRegex }) }));
    o.httpRouteGroups.push(intern(httpRouteGroup(ns, GROUP_NAMES[i % GROUP_NAMES.length] as string, matches)));
  });
  w.tcpRoutes.forEach((r, i) => {
    if (r) o.tcpRoutes.push(intern(tcpRoute(NS[Math.floor(i / TCP_NAMES.length)] as string, TCP_NAMES[i % TCP_NAMES.length] as string, [...r.ports])));
  });
  w.splits.forEach((s, i) => {
    if (s) o.trafficSplits.push(intern(trafficSplit(s.ns, `s${i}`, s.apex, [...s.backends])));
  });
  o.meshConfigs.push(intern(meshConfig({ traffic: { enablePermissiveTrafficPolicyMode: w.permissive } })));
  return o;
}

// ---- ground truth: the snapshot versions of every proxy in either model

const inputs = { certificate: { certificateChain: 'CHAIN', privateKey: 'KEY' }, trustBundle: 'ROOTS' };

/** Each proxy's snapshot versions (all five types) in the model. */
function snapshotVersions(model: MeshModel): Map<string, string> {
  const out = new Map<string, string>();
  for (const proxy of model.proxies.values()) {
    const s = buildSnapshot(model, proxy, inputs);
    out.set(proxy.uuid, RESOURCE_TYPES.map((t) => `${t}=${s.types[t].version}`).join(' '));
  }
  return out;
}

/** uuids of proxies whose snapshot differs between the two version maps (or that are in one only), sorted. */
function changedSnapshots(prev: ReadonlyMap<string, string>, next: ReadonlyMap<string, string>): string[] {
  const uuids = new Set([...prev.keys(), ...next.keys()]);
  return [...uuids].filter((u) => prev.get(u) !== next.get(u)).sort();
}

function notAffected(prev: MeshModel, next: MeshModel, changed: readonly string[]): string[] {
  const d = diffModels(prev, next);
  if (d.allProxies) return [];
  return changed.filter((u) => !d.affectedProxies.includes(u));
}

/** Batches of one or two changes, applied one after another (as the catalog's coalesced batches). */
const batchesArb = fc.array(fc.array(changeArb, { minLength: 1, maxLength: 2 }), { minLength: 1, maxLength: 8 });

describe('affected proxies (property)', () => {
  it('every proxy whose snapshot changed is reported as affected', () => {
    let steps = 0;
    let stepsWithChanges = 0;
    fc.assert(
      fc.property(worldArb, batchesArb, (world, batches) => {
        const intern = interner();
        // As the catalog does: one translator across batches (unchanged parts are the same objects) ...
        const translator = new Translator();
        let objects = objectsOf(world, intern);
        let model = translator.translate(objects).model;
        let versions = snapshotVersions(model);
        for (const [i, batch] of batches.entries()) {
          world = batch.reduce(applyChange, world);
          const nextObjects = objectsOf(world, intern);
          const nextModel = translator.translate(nextObjects).model;
          const nextVersions = snapshotVersions(nextModel);
          const changed = changedSnapshots(versions, nextVersions);
          steps++;
          if (changed.length > 0) stepsWithChanges++;
          assert.deepEqual(notAffected(model, nextModel, changed), [], `batch ${i}: proxies with a changed snapshot but not affected`);
          // ... and two independent translations (no shared objects: every comparison is by value).
          assert.deepEqual(notAffected(translate(objects).model, translate(nextObjects).model, changed), [], `batch ${i}: the same, from fresh translations`);
          [objects, model, versions] = [nextObjects, nextModel, nextVersions];
        }
      }),
      { numRuns: 1000 },
    );
    // The generator must exercise the property: a good part of the changes alter some proxy's configuration.
    assert.ok(stepsWithChanges >= steps / 4, `only ${stepsWithChanges} of ${steps} changes altered a snapshot`);
  });
});

// The property's first find, kept as plain cases: the pods of a split backend serve the apex's
// hostnames too (an inbound virtual host), so they are affected when the split or the apex changes,
// even when they are neither clients of the apex nor behind it.
describe('affected proxies: split backends serve the apex', () => {
  const http = [{ name: 'http-web', port: 80, targetPort: 8080 }];
  const shop = (): ReturnType<typeof emptyObjects> => {
    const o = emptyObjects();
    o.namespaces.push(namespace('shop'));
    o.serviceAccounts.push(serviceAccount('shop', 'web-v1'), serviceAccount('shop', 'client'));
    o.services.push(service('shop', 'web', { app: 'web' }, http, '10.96.0.1'), service('shop', 'web-v1', { app: 'web-v1' }, http, '10.96.0.2'));
    o.pods.push(pod('shop', 'web-v1-0', { app: 'web-v1', 'osm-proxy-uuid': 'u-v1' }, 'web-v1', '10.1.0.1'));
    o.endpointSlices.push(slice('shop', 'web-v1-abc', 'web-v1', [{ ip: '10.1.0.1', pod: 'web-v1-0' }], [{ name: 'http-web', port: 8080 }]));
    // The rule names its match: a rule without matches grants nothing (OSM), and then there is no route to serve.
    o.trafficTargets.push(trafficTarget('shop', 'client-to-web-v1', 'web-v1', [{ ns: 'shop', sa: 'client' }], [{ kind: 'HTTPRouteGroup', name: 'routes', matches: ['all'] }]));
    o.httpRouteGroups.push(httpRouteGroup('shop', 'routes', [{ name: 'all', methods: ['GET'] }]));
    o.trafficSplits.push(trafficSplit('shop', 'web-split', 'web', [{ service: 'web-v1', weight: 100 }]));
    o.meshConfigs.push(meshConfig({ traffic: { enablePermissiveTrafficPolicyMode: false } }));
    return o;
  };
  const cases: [string, (o: ReturnType<typeof emptyObjects>) => void][] = [
    ['the split goes away', (o) => o.trafficSplits.splice(0)],
    ['the split gives the backend no weight', (o) => o.trafficSplits.splice(0, 1, trafficSplit('shop', 'web-split', 'web', [{ service: 'web-v1', weight: 0 }]))],
    ['the apex service goes away', (o) => o.services.splice(0, 1)],
    ['the apex service changes its port', (o) => o.services.splice(0, 1, service('shop', 'web', { app: 'web' }, [{ name: 'http-web', port: 81, targetPort: 8080 }], '10.96.0.1'))],
  ];
  for (const [name, change] of cases) {
    it(`${name}: the backend's proxy (not behind the apex, not a client) is affected`, () => {
      const before = translate(shop()).model;
      const objects = shop();
      change(objects);
      const after = translate(objects).model;
      assert.notEqual(snapshotVersions(after).get('u-v1'), snapshotVersions(before).get('u-v1'), 'the backend proxy snapshot changes');
      assert.deepEqual(diffModels(before, after).affectedProxies, ['u-v1']);
    });
  }
});
