import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { KubeObject } from '@osm/k8s-informers';
import { FakeClock } from '@osm/testing';
import { MeshCatalog, type CatalogBatch } from '../src/catalog.ts';
import { CatalogError } from '../src/errors.ts';
import { translate } from '../src/translate.ts';
import { bookstore, namespace, pod, service, serviceAccount, slice, trafficSplit, trafficTarget } from './fixtures.ts';
import { kinds, modelText, StoreSource, type Kind } from './fakes.ts';

async function started(options: { windowMs?: number; maxDelayMs?: number } = {}) {
  const source = new StoreSource();
  source.load(bookstore());
  const clock = new FakeClock();
  const catalog = new MeshCatalog({ source, clock, ...options });
  const batches: CatalogBatch[] = [];
  catalog.subscribe((b) => batches.push(b));
  await catalog.start();
  return { source, clock, catalog, batches };
}

describe('MeshCatalog', () => {
  it('publishes a first model after sync that affects every proxy', async () => {
    const { batches } = await started();
    assert.equal(batches.length, 1);
    const [first] = batches;
    assert.equal(first?.sequence, 1);
    assert.equal(first?.allProxies, true);
    assert.deepEqual(first?.affectedProxies, ['u-buyer', 'u-mysql', 'u-store-v1', 'u-store-v2', 'u-thief', 'u-warehouse']);
    assert.equal(first?.model.services.size, 7);
  });

  it('publishes the current problems with every batch: a split whose apex names another namespace, and its fix', async () => {
    const { source, clock, batches } = await started();
    assert.deepEqual(batches[0]?.problems, []);
    source.put('trafficSplits', trafficSplit('bookstore', 'bookstore-split', 'bookstore.bookbuyer', [{ service: 'bookstore-v1', weight: 1 }]));
    await clock.advance(100);
    assert.deepEqual(batches[1]?.problems.map((p) => `${p.object.kind} ${p.object.namespace}/${p.object.name} ${p.field} ${p.reason}`), ['TrafficSplit bookstore/bookstore-split spec.service InvalidApex']);
    assert.equal(batches[1]?.model.trafficSplits.size, 0);
    source.put('trafficSplits', trafficSplit('bookstore', 'bookstore-split', 'bookstore.bookstore', [{ service: 'bookstore-v1', weight: 1 }]));
    await clock.advance(100);
    assert.deepEqual(batches[2]?.problems, []);
    assert.equal(batches[2]?.model.trafficSplits.get('bookstore/bookstore-split')?.apexService, 'bookstore');
  });

  it('coalesces changes in a sliding window of 100 ms', async () => {
    const { source, clock, batches } = await started();
    source.put('pods', pod('bookbuyer', 'b2', { app: 'bookbuyer', 'osm-proxy-uuid': 'u-b2' }, 'bookbuyer'));
    await clock.advance(60);
    source.put('pods', pod('bookbuyer', 'b3', { app: 'bookbuyer', 'osm-proxy-uuid': 'u-b3' }, 'bookbuyer'));
    await clock.advance(60); // 120 ms after the first change, 60 after the last: still waiting
    assert.equal(batches.length, 1);
    await clock.advance(40);
    assert.equal(batches.length, 2);
    assert.equal(batches[1]?.changes, 2);
    assert.deepEqual(batches[1]?.affectedProxies, ['u-b2', 'u-b3']);
  });

  it('flushes a steady stream of changes no later than 1 s after the first', async () => {
    const { source, clock, batches } = await started();
    for (let i = 0; i < 30; i++) {
      source.put('pods', pod('bookbuyer', `b${i}`, { app: 'bookbuyer' }, 'bookbuyer'));
      await clock.advance(50);
      if (i === 18) assert.equal(batches.length, 1, 'not yet at 950 ms');
    }
    assert.equal(batches.length, 2, 'one batch at 1000 ms');
    assert.equal(batches[1]?.changes, 20);
  });

  it('takes the window and the cap as options, and names the option it rejects', async () => {
    const { source, clock, batches } = await started({ windowMs: 10, maxDelayMs: 20 });
    source.put('serviceAccounts', serviceAccount('bookbuyer', 'x'));
    await clock.advance(10);
    assert.equal(batches.length, 2);
    assert.throws(() => new MeshCatalog({ source, windowMs: -1 }), (e: unknown) => e instanceof CatalogError && e.code === 'InvalidOption' && /windowMs/.test(e.message));
    assert.throws(() => new MeshCatalog({ source, windowMs: 100, maxDelayMs: 50 }), /maxDelayMs must be a number of milliseconds >= 100/);
  });

  it('a batch touching one service reports only the proxies that talk to it', async () => {
    const { source, clock, batches } = await started();
    source.put('endpointSlices', slice('bookwarehouse', 'bookwarehouse-abc', 'bookwarehouse', [{ ip: '10.1.0.5' }, { ip: '10.1.0.55' }], [{ name: 'http-web', port: 14001 }]));
    await clock.advance(100);
    assert.deepEqual(batches.at(-1)?.affectedProxies, ['u-store-v1', 'u-store-v2']);
    assert.deepEqual(batches.at(-1)?.diff?.changedEndpoints, ['bookwarehouse/bookwarehouse']);
  });

  it('listeners that throw do not stop others', async () => {
    const { source, clock, catalog, batches } = await started();
    catalog.subscribe(() => {
      throw new Error('boom');
    });
    source.put('serviceAccounts', serviceAccount('bookbuyer', 'y'));
    await clock.advance(100);
    assert.equal(batches.length, 2);
  });
});

// ---- order independence ------------------------------------------------------------------------

type Step = { kind: Kind; key: string; obj: KubeObject | undefined };

/** Versions of a small random mesh: every object gets one to three versions, some end deleted. */
const universe = fc
  .record({
    nsCount: fc.integer({ min: 1, max: 3 }),
    services: fc.array(fc.record({ ns: fc.nat(2), name: fc.constantFrom('a', 'b', 'c', 'd'), app: fc.constantFrom('a', 'b', 'c'), port: fc.constantFrom(80, 8080), portName: fc.constantFrom('http-web', 'tcp-db', 'grpc-api', 'web') }), { maxLength: 6 }),
    pods: fc.array(fc.record({ ns: fc.nat(2), name: fc.constantFrom('p1', 'p2', 'p3', 'p4', 'p5'), app: fc.constantFrom('a', 'b', 'c'), sa: fc.constantFrom('sa1', 'sa2'), uuid: fc.option(fc.constantFrom('u1', 'u2', 'u3', 'u4')), ip: fc.integer({ min: 1, max: 9 }) }), { maxLength: 10 }),
    slices: fc.array(fc.record({ ns: fc.nat(2), svc: fc.constantFrom('a', 'b', 'c', 'd'), name: fc.constantFrom('s1', 's2', 's3'), ips: fc.array(fc.record({ ip: fc.integer({ min: 1, max: 9 }), ready: fc.boolean() }), { maxLength: 3 }) }), { maxLength: 6 }),
    targets: fc.array(fc.record({ ns: fc.nat(2), name: fc.constantFrom('t1', 't2'), dest: fc.constantFrom('sa1', 'sa2'), src: fc.constantFrom('sa1', 'sa2') }), { maxLength: 3 }),
    splits: fc.array(fc.record({ ns: fc.nat(2), w: fc.integer({ min: 0, max: 100 }) }), { maxLength: 2 }),
    deleteMask: fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }),
  })
  .map((u) => {
    const ns = (i: number): string => `ns${i % u.nsCount}`;
    const versions = new Map<string, Step[]>();
    const add = (kind: Kind, obj: KubeObject): void => {
      const key = `${kind}:${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
      const list = versions.get(key) ?? [];
      list.push({ kind, key: obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name, obj: { ...obj, metadata: { ...obj.metadata, resourceVersion: String(list.length + 1) } } });
      versions.set(key, list);
    };
    for (let i = 0; i < u.nsCount; i++) add('namespaces', namespace(ns(i)));
    for (const s of u.services) add('services', service(ns(s.ns), s.name, { app: s.app }, [{ name: s.portName, port: s.port }]));
    for (const p of u.pods) add('pods', pod(ns(p.ns), p.name, { app: p.app, ...(p.uuid ? { 'osm-proxy-uuid': p.uuid } : {}) }, p.sa, `10.0.0.${p.ip}`));
    for (const s of u.slices) add('endpointSlices', slice(ns(s.ns), s.name, s.svc, s.ips.map((e) => ({ ip: `10.0.0.${e.ip}`, ready: e.ready })), [{ name: 'http-web', port: 8080 }]));
    for (const t of u.targets) add('trafficTargets', trafficTarget(ns(t.ns), t.name, t.dest, [{ ns: ns(t.ns), sa: t.src }], []));
    for (const s of u.splits) add('trafficSplits', trafficSplit(ns(s.ns), 'split', 'a', [{ service: 'b', weight: s.w }, { service: 'c', weight: 100 - s.w }]));
    add('serviceAccounts', serviceAccount(ns(0), 'sa1'));
    // Some objects end deleted.
    let i = 0;
    for (const [, list] of versions) {
      const last = list.at(-1);
      if (last && last.kind !== 'namespaces' && u.deleteMask[i++ % u.deleteMask.length]) list.push({ kind: last.kind, key: last.key, obj: undefined });
    }
    return [...versions.values()];
  });

/** A random interleaving of the per-object histories (each object's own versions stay in order). */
function interleave(histories: Step[][], priorities: number[]): Step[] {
  const cursors = histories.map(() => 0);
  const out: Step[] = [];
  let p = 0;
  for (;;) {
    const live = histories.map((h, i) => i).filter((i) => (cursors[i] ?? 0) < (histories[i]?.length ?? 0));
    if (live.length === 0) return out;
    const pick = live[(priorities[p++ % Math.max(1, priorities.length)] ?? 0) % live.length] as number;
    out.push(histories[pick]?.[cursors[pick] ?? 0] as Step);
    cursors[pick] = (cursors[pick] ?? 0) + 1;
  }
}

async function feed(steps: readonly Step[], flushEvery: number): Promise<string> {
  const source = new StoreSource();
  const clock = new FakeClock();
  const catalog = new MeshCatalog({ source, clock });
  await catalog.start();
  for (const [i, s] of steps.entries()) {
    if (s.obj) source.put(s.kind, s.obj);
    else source.remove(s.kind, s.key);
    if (flushEvery > 0 && i % flushEvery === 0) await clock.advance(150);
  }
  catalog.flush();
  const text = modelText(catalog.model());
  // The catalog's translator reuses parts of earlier models; the result must be what a fresh translation gives.
  assert.equal(text, modelText(translate(source.objects()).model));
  return text;
}

describe('order independence', () => {
  it('two catalogs fed the same objects in different orders produce equal models', async () => {
    await fc.assert(
      fc.asyncProperty(universe, fc.array(fc.nat(), { minLength: 1, maxLength: 50 }), fc.array(fc.nat(), { minLength: 1, maxLength: 50 }), fc.nat(5), fc.nat(5), async (histories, pa, pb, fa, fb) => {
        const a = await feed(interleave(histories, pa), fa);
        const b = await feed(interleave(histories, pb), fb);
        assert.equal(a, b);
      }),
      { numRuns: 200 },
    );
  });

  it('the property can fail: a different final state gives a different model', async () => {
    // Guards the property above against comparing things that are always equal.
    const histories: Step[][] = [
      [{ kind: 'namespaces', key: 'ns0', obj: namespace('ns0') }],
      [{ kind: 'services', key: 'ns0/a', obj: service('ns0', 'a', { app: 'a' }, [{ port: 80 }]) }],
    ];
    const a = await feed(interleave(histories, [0]), 0);
    const b = await feed(interleave([...histories, [{ kind: 'services', key: 'ns0/b', obj: service('ns0', 'b', { app: 'a' }, [{ port: 80 }]) }]], [0]), 0);
    assert.notEqual(a, b);
    assert.ok(kinds.length === 10);
  });
});
