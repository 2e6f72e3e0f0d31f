// resync(namespace) and prune(namespace): a namespace joins or leaves while the watch keeps running.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { settle } from '@osm/testing';
import type { Informer, InformerOptions } from '../src/informer.ts';
import type { KubeObject } from '../src/types.ts';
import { obj, setup, type FakeApi, type FakeObject } from './fakes.ts';

/**
 * An informer that keeps the objects of the namespaces in `allowed`; `join` and `leave` change the
 * set and tell the informer, as MeshInformers does.
 */
function setupJoins(options: Partial<InformerOptions<KubeObject>> = {}, allowed = new Set(['a'])) {
  const s = setup({ keep: (o) => allowed.has(o.metadata.namespace ?? ''), ...options });
  return {
    ...s,
    allowed,
    /** Starts the informer and waits until its first list is applied and its watch is open. */
    async start(): Promise<void> {
      s.informer.start();
      await s.informer.waitForSync();
      await settle();
    },
    async join(namespace: string): Promise<void> {
      allowed.add(namespace);
      s.informer.resync(namespace);
      await settle();
    },
    leave(namespace: string): void {
      allowed.delete(namespace);
      s.informer.prune(namespace);
    },
  };
}

/** Holds list responses (their pages already taken) until the returned function is called. */
function holdLists(api: FakeApi): () => void {
  let release = (): void => undefined;
  api.listGate = new Promise<void>((resolve) => (release = resolve));
  return () => {
    api.listGate = undefined;
    release();
  };
}

/** `key@resourceVersion` of what the API holds in the allowed namespaces, and of what the informer holds. */
const truth = (api: FakeApi, allowed: ReadonlySet<string>): string[] =>
  [...api.objects.values()]
    .filter((o) => allowed.has(o.metadata.namespace ?? ''))
    .map((o) => `${o.metadata.namespace}/${o.metadata.name}@${o.metadata.resourceVersion}`)
    .sort();
const held = (informer: Informer<KubeObject>): string[] => informer.list().map((o) => `${o.metadata.namespace}/${o.metadata.name}@${o.metadata.resourceVersion}`).sort();

describe('Informer: a namespace joining or leaving', () => {
  it('lists only the joining namespace, not older than the watch, while the watch keeps running', async () => {
    const { api, informer, events, allowed, start } = setupJoins();
    api.put(obj('a', 'x'));
    api.put(obj('b', 'x', { spec: { v: 1 } }));
    api.put(obj('b', 'y'));
    api.put(obj('c', 'x'));
    await start();
    api.put(obj('c', 'y')); // moves the watch on: the namespace list must start from here
    await settle();
    const rv = informer.stats().resourceVersion;
    assert.equal(rv, '105');
    events.length = 0;

    allowed.add('b');
    informer.resync('b');
    // The list of b is taken after these changes, and the watch delivers them too: no double effect.
    api.put(obj('b', 'x', { spec: { v: 2 } }));
    api.remove('b', 'y');
    api.put(obj('b', 'z'));
    await settle();

    assert.deepEqual(api.listCalls.at(-1), { path: '/api/v1/namespaces/b/things', limit: 500, resourceVersion: rv, resourceVersionMatch: 'NotOlderThan' });
    assert.equal(api.listCalls.length, 2, 'one list of the collection, one of the namespace');
    assert.equal(api.watchCalls.length, 1, 'the watch was not restarted');
    assert.equal(api.openWatches(), 1);
    assert.deepEqual(held(informer), truth(api, allowed));
    assert.deepEqual((informer.get('b/x') as unknown as { spec: unknown }).spec, { v: 2 });
    assert.deepEqual(events.sort(), ['add b/x', 'add b/z'], 'b/y was gone before the join was applied: never reported');
    const stats = informer.stats();
    assert.equal(stats.lists, 1);
    assert.equal(stats.namespaceLists, 1);
    assert.equal(stats.namespacesPending, 0);
    // And the watch carries on for the new namespace.
    api.put(obj('b', 'later'));
    await settle();
    assert.ok(informer.get('b/later'));
    informer.stop();
  });

  it('applies the watch events that arrive while the namespace list is in flight, in order', async () => {
    const { api, informer, events, allowed, start, join } = setupJoins();
    api.put(obj('b', 'x', { spec: { v: 1 } }));
    api.put(obj('b', 'y'));
    await start();
    const release = holdLists(api);
    await join('b');
    assert.equal(api.listsWaiting, 1, 'the page of b is taken and held back');
    api.put(obj('b', 'x', { spec: { v: 2 } }));
    api.remove('b', 'y');
    api.put(obj('b', 'y')); // created again
    api.put(obj('b', 'w'));
    api.remove('b', 'w');
    await settle();
    assert.deepEqual(informer.keys(), [], 'nothing of b before its list is applied');
    assert.equal(informer.stats().namespacesPending, 1);
    release();
    await settle();
    assert.deepEqual(held(informer), truth(api, allowed));
    assert.deepEqual((informer.get('b/x') as unknown as { spec: unknown }).spec, { v: 2 });
    assert.deepEqual(events.filter((e) => e !== 'sync').sort(), ['add b/x', 'add b/y']);
    assert.equal(api.watchCalls.length, 1);
    informer.stop();
  });

  it('drops only the leaving namespace, without calling the API', async () => {
    const { api, informer, events, start, leave } = setupJoins({}, new Set(['a', 'b']));
    for (const ns of ['a', 'b']) for (const n of ['x', 'y']) api.put(obj(ns, n));
    await start();
    events.length = 0;
    const calls = api.listCalls.length + api.watchCalls.length;
    leave('b');
    assert.deepEqual(events.sort(), ['delete b/x', 'delete b/y']);
    assert.deepEqual(informer.keys().sort(), ['a/x', 'a/y']);
    assert.equal(api.listCalls.length + api.watchCalls.length, calls);
    // Later events of b are not kept.
    api.put(obj('b', 'z'));
    await settle();
    assert.equal(informer.get('b/z'), undefined);
    informer.stop();
  });

  it('keeps nothing of a namespace that left while its list was in flight, and lists it again when it rejoins', async () => {
    const { api, informer, allowed, start, join, leave } = setupJoins();
    api.put(obj('b', 'x'));
    await start();
    const release = holdLists(api);
    await join('b');
    leave('b');
    api.put(obj('b', 'y'));
    release();
    await settle();
    assert.deepEqual(informer.keys(), []);
    assert.equal(informer.stats().namespacesPending, 0);
    await join('b');
    assert.deepEqual(held(informer), truth(api, allowed));
    assert.equal(informer.stats().namespaceLists, 2);
    informer.stop();
  });

  it('retries a failed namespace list with jittered backoff, from where the watch is then', async () => {
    const { api, clock, informer, allowed, start, join } = setupJoins();
    api.put(obj('b', 'x'));
    await start();
    api.failLists.push(new Error('connection refused'), new Error('connection refused'));
    await join('b');
    api.put(obj('b', 'y'));
    await settle();
    assert.equal(informer.get('b/y'), undefined, 'a joining namespace appears whole, when its list is applied');
    // Failure 0: base 1000 ms, jitter 0.5 -> 750 ms; failure 1: 1500 ms.
    await clock.advance(749);
    assert.equal(api.listCalls.length, 2);
    await clock.advance(1);
    assert.equal(api.listCalls.length, 3);
    assert.equal(api.listCalls.at(-1)?.resourceVersion, '102', 'the retry starts from the watch as it is now');
    await clock.advance(1500);
    assert.equal(api.listCalls.length, 4);
    assert.deepEqual(held(informer), truth(api, allowed));
    const stats = informer.stats();
    assert.equal(stats.failures, 2);
    assert.equal(stats.lists, 1);
    assert.equal(api.watchCalls.length, 1, 'the watch kept running');
    informer.stop();
  });

  it('carries a join across a rewatch: events while the watch was down come with the next watch', async () => {
    const { api, clock, informer, allowed, start, join } = setupJoins({ relistAfterWatchFailures: 100 });
    api.put(obj('b', 'x'));
    await start();
    const release = holdLists(api);
    await join('b');
    api.breakWatches(new Error('reset'));
    api.put(obj('b', 'y'));
    api.remove('b', 'x');
    await clock.advance(1000);
    assert.equal(api.watchCalls.length, 2);
    release();
    await settle();
    assert.deepEqual(held(informer), truth(api, allowed));
    assert.equal(informer.stats().lists, 1);
    informer.stop();
  });

  it('lets a relist of the whole collection (after 410) supersede pending namespace lists', async () => {
    const { api, clock, informer, allowed, start, join } = setupJoins();
    api.put(obj('b', 'x'));
    await start();
    const release = holdLists(api);
    await join('b');
    assert.equal(informer.stats().namespacesPending, 1);
    // The watch breaks, things change, history is compacted: the rewatch gets 410 and relists.
    api.breakWatches(new Error('reset'));
    api.put(obj('b', 'y'));
    api.compact();
    await clock.advance(1000);
    assert.equal(informer.stats().gone, 1);
    assert.equal(informer.stats().namespacesPending, 0, 'the relist covers b');
    release();
    await clock.advance(2000); // the relist backs off: the 410 came after a failure

    assert.deepEqual(held(informer), truth(api, allowed));
    assert.equal(informer.stats().lists, 2);
    assert.equal(informer.stats().namespaceLists, 1);
    informer.stop();
  });

  it('runs a burst of joins a few lists at a time, one list per namespace', async () => {
    const namespaces = Array.from({ length: 10 }, (_, i) => `n${i}`);
    const { api, informer, allowed, start } = setupJoins();
    for (const ns of namespaces) api.put(obj(ns, 'x'));
    await start();
    const release = holdLists(api);
    for (const ns of namespaces) {
      allowed.add(ns);
      informer.resync(ns);
      informer.resync(ns); // asked twice: still one list
    }
    await settle();
    assert.equal(api.listsWaiting, 4);
    assert.equal(informer.stats().namespacesPending, 10);
    release();
    await settle();
    assert.deepEqual(held(informer), truth(api, allowed));
    assert.deepEqual(api.listCalls.slice(1).map((c) => c.path), namespaces.map((ns) => `/api/v1/namespaces/${ns}/things`));
    assert.equal(api.watchCalls.length, 1);
    informer.stop();
  });

  it('does nothing before the first list or while a relist is pending: that list covers the namespace', async () => {
    const { api, clock, informer, allowed } = setupJoins();
    api.put(obj('b', 'x'));
    allowed.add('b');
    informer.resync('b'); // not started
    informer.start();
    informer.resync('b'); // first list pending
    await informer.waitForSync();
    await settle();
    assert.deepEqual(informer.keys(), ['b/x']);
    assert.equal(informer.stats().namespaceLists, 0);
    api.failLists.push(new Error('down'));
    informer.resync();
    await settle();
    allowed.add('c');
    api.put(obj('c', 'x'));
    informer.resync('c'); // relist pending (after a failed one)
    await clock.advance(1000);
    assert.equal(informer.stats().namespaceLists, 0);
    assert.deepEqual(held(informer), truth(api, allowed));
    informer.stop();
  });

  it('relists the whole collection for a namespace when its path names no cluster-wide collection', async () => {
    const { api, informer, start, join } = setupJoins({ path: '/api/v1/namespaces/a/things' });
    await start();
    await join('b');
    assert.deepEqual(
      api.listCalls.map((c) => c.path),
      ['/api/v1/namespaces/a/things', '/api/v1/namespaces/a/things'],
    );
    informer.stop();
  });

  it('stops with nothing pending: no timers, no more lists', async () => {
    const { api, clock, informer, start, join } = setupJoins();
    await start();
    api.failLists.push(new Error('down'));
    await join('b');
    informer.stop();
    assert.equal(clock.pendingTimers, 0);
    assert.equal(informer.stats().namespacesPending, 0);
    await clock.advance(60_000);
    assert.equal(api.listCalls.length, 2);
  });

  // Whatever the interleaving of changes, joins, leaves, broken watches, compactions, failed and
  // slow lists, the store ends as a fresh list of the member namespaces, and handlers saw a
  // consistent stream (no add of something held, no update or delete of something not held).
  it('ends equal to a fresh list under random interleavings (order independence)', async () => {
    const mulberry32 = (seed: number) => (): number => {
      let t = (seed += 0x6d2b79f5);
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const namespaces = ['a', 'b', 'c', 'd', 'e'];
    for (let seed = 1; seed <= 60; seed++) {
      const rand = mulberry32(seed);
      const pick = <V>(values: readonly V[]): V => values[Math.floor(rand() * values.length)] as V;
      const allowed = new Set(['a']);
      const { api, clock, informer, start } = setupJoins({ random: rand, pageSize: 2, relistAfterWatchFailures: 2 }, allowed);
      const mirror = new Map<string, string>();
      const broken: string[] = [];
      informer.addHandler({
        onAdd: (o) => (mirror.has(`${o.metadata.namespace}/${o.metadata.name}`) ? broken.push(`add of held ${o.metadata.name}`) : mirror.set(`${o.metadata.namespace}/${o.metadata.name}`, o.metadata.resourceVersion ?? '')),
        onUpdate: (o) => (mirror.has(`${o.metadata.namespace}/${o.metadata.name}`) ? mirror.set(`${o.metadata.namespace}/${o.metadata.name}`, o.metadata.resourceVersion ?? '') : broken.push(`update of missing ${o.metadata.name}`)),
        onDelete: (o) => (mirror.delete(`${o.metadata.namespace}/${o.metadata.name}`) ? undefined : broken.push(`delete of missing ${o.metadata.name}`)),
      });
      let uid = 0;
      const put = (ns: string, name: string, step: number): FakeObject => {
        const existing = api.objects.get(`${ns}/${name}`);
        return api.put(obj(ns, name, { metadata: { name, namespace: ns, uid: existing?.metadata.uid ?? `uid-${uid++}` }, spec: { step } }));
      };
      for (const ns of namespaces) for (const n of ['p', 'q']) put(ns, n, 0);
      await start();
      let release: (() => void) | undefined;
      for (let step = 1; step <= 120; step++) {
        const r = rand();
        const ns = pick(namespaces);
        if (r < 0.3) put(ns, pick(['p', 'q', 'r', 's']), step);
        else if (r < 0.42) {
          const victims = [...api.objects.values()];
          const v = victims.length ? pick(victims) : undefined;
          if (v) api.remove(v.metadata.namespace, v.metadata.name);
        } else if (r < 0.54) {
          allowed.add(ns);
          informer.resync(ns);
        } else if (r < 0.62) {
          allowed.delete(ns);
          informer.prune(ns);
        } else if (r < 0.67) api.breakWatches(new Error('reset'));
        else if (r < 0.7) {
          api.compact();
          api.breakWatches(new Error('reset'));
        } else if (r < 0.74) api.failLists.push(new Error('down'));
        else if (r < 0.8) {
          if (release) {
            release();
            release = undefined;
          } else release = holdLists(api);
        } else if (r < 0.9) await settle();
        else await clock.advance(Math.floor(rand() * 5000));
      }
      release?.();
      for (let i = 0; i < 10; i++) await clock.advance(60_000);
      const context = `seed ${seed}`;
      assert.deepEqual(broken, [], context);
      assert.equal(informer.stats().namespacesPending, 0, context);
      assert.deepEqual(held(informer), truth(api, allowed), context);
      assert.deepEqual([...mirror].map(([k, rv]) => `${k}@${rv}`).sort(), held(informer), context);
      informer.stop();
    }
  });
});
