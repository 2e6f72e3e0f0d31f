import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { settle } from '@osm/testing';
import { InformerOptionError, KubeApiError } from '../src/errors.ts';
import { Informer, type InformerOptions } from '../src/informer.ts';
import type { KubeObject } from '../src/types.ts';
import { FakeApi, obj, setup } from './fakes.ts';

describe('Informer', () => {
  it('lists, syncs and keeps frozen objects by namespace/name without managedFields', async () => {
    const { api, informer, events } = setup();
    api.put(obj('a', 'x', { spec: { n: 1 } }));
    api.put(obj('b', 'y'));
    assert.equal(informer.hasSynced(), false);
    informer.start();
    await informer.waitForSync();
    await settle();
    assert.equal(informer.hasSynced(), true);
    assert.deepEqual(informer.keys().sort(), ['a/x', 'b/y']);
    const x = informer.get('a/x');
    assert.ok(x);
    assert.equal(x.metadata.managedFields, undefined);
    assert.ok(Object.isFrozen(x) && Object.isFrozen(x.metadata) && Object.isFrozen((x as unknown as { spec: object }).spec));
    assert.throws(() => {
      (x.metadata as { name: string }).name = 'changed';
    }, TypeError);
    assert.deepEqual(events, ['add a/x', 'add b/y', 'sync']);
    informer.stop();
  });

  it('reads the whole list page by page', async () => {
    const { api, informer } = setup({ pageSize: 2 });
    for (let i = 0; i < 5; i++) api.put(obj('ns', `o${i}`));
    informer.start();
    await informer.waitForSync();
    await settle();
    assert.equal(informer.size, 5);
    assert.deepEqual(
      api.listCalls.map((c) => c.continueToken),
      [undefined, '105:2', '105:4'],
    );
    informer.stop();
  });

  it('applies watch events to the store and its indexes, and tells handlers', async () => {
    const { api, informer, events } = setup();
    informer.start();
    await informer.waitForSync();
    await settle();
    api.put(obj('a', 'x', { metadata: { name: 'x', namespace: 'a', labels: { color: 'red' } } }));
    await settle();
    assert.deepEqual(informer.byIndex('color', 'red').map((o) => o.metadata.name), ['x']);
    api.put(obj('a', 'x', { metadata: { name: 'x', namespace: 'a', labels: { color: 'blue' } } }));
    await settle();
    assert.deepEqual(informer.byIndex('color', 'red'), []);
    assert.deepEqual(informer.byIndex('color', 'blue').map((o) => o.metadata.name), ['x']);
    assert.deepEqual(informer.byIndex('namespace', 'a').map((o) => o.metadata.name), ['x']);
    api.remove('a', 'x');
    await settle();
    assert.equal(informer.get('a/x'), undefined);
    assert.deepEqual(informer.byIndex('color', 'blue'), []);
    assert.deepEqual(events, ['sync', 'add a/x', 'update a/x 101->102', 'delete a/x']);
    assert.throws(() => informer.byIndex('nope', 'x'), /unknown index 'nope'/);
    informer.stop();
  });

  for (const goneAs of ['status', 'event'] as const) {
    it(`relists after 410 Gone (${goneAs}) and reports only what really changed`, async () => {
      const { api, clock, informer, events } = setup();
      for (const n of ['a', 'b', 'c', 'd']) api.put(obj('ns', n));
      informer.start();
      await informer.waitForSync();
    await settle();
      const before = informer.get('ns/a');
      // The watch breaks; while it is down things change and history is compacted away.
      api.failWatches.push(new KubeApiError('Network', 'connection refused'));
      api.breakWatches(new KubeApiError('Network', 'connection reset'));
      await settle();
      api.put(obj('ns', 'b', { spec: { changed: true } }));
      api.remove('ns', 'c');
      api.put(obj('ns', 'e'));
      api.compact();
      api.goneAs = goneAs;
      events.length = 0;
      await clock.advance(30_000);
      assert.equal(informer.stats().gone, 1);
      assert.deepEqual(events.sort(), ['add ns/e', 'delete ns/c', 'sync', 'update ns/b 102->105'].sort());
      assert.deepEqual(informer.keys().sort(), ['ns/a', 'ns/b', 'ns/d', 'ns/e']);
      assert.equal(informer.get('ns/a'), before, 'an unchanged object keeps its instance');
      // And the new watch carries on from the relist.
      api.put(obj('ns', 'f'));
      await settle();
      assert.ok(informer.get('ns/f'));
      informer.stop();
    });
  }

  it('reports an object deleted and created again under the same name while not watching as a delete and an add', async () => {
    const { api, clock, informer, events } = setup();
    api.put(obj('ns', 'a', { metadata: { name: 'a', namespace: 'ns', uid: 'uid-1' } }));
    informer.start();
    await informer.waitForSync();
    await settle();
    api.failWatches.push(new Error('refused'), new Error('refused'));
    api.breakWatches(new Error('reset'));
    api.remove('ns', 'a');
    api.put(obj('ns', 'a', { metadata: { name: 'a', namespace: 'ns', uid: 'uid-2' } }));
    api.compact();
    events.length = 0;
    await clock.advance(30_000);
    assert.deepEqual(events, ['delete ns/a', 'add ns/a', 'sync']);
    assert.equal(informer.get('ns/a')?.metadata.uid, 'uid-2');
    informer.stop();
  });

  it('restarts a failed watch with jittered exponential backoff, from the last resourceVersion', async () => {
    const { api, clock, informer } = setup({ relistAfterWatchFailures: 100 });
    api.put(obj('ns', 'a'));
    informer.start();
    await informer.waitForSync();
    await settle();
    assert.equal(api.watchCalls.length, 1);
    assert.equal(informer.stats().failingSince, undefined);
    api.failWatches.push(new Error('refused'), new Error('refused'));
    const brokenAt = clock.now();
    api.breakWatches(new Error('reset'));
    await settle();
    assert.equal(informer.stats().failingSince, brokenAt, 'failing since the watch broke');
    // attempt 0: base 1000 ms, jitter 0.5 -> 750 ms
    await clock.advance(749);
    assert.equal(api.watchCalls.length, 1);
    await clock.advance(1);
    assert.equal(api.watchCalls.length, 2);
    // attempt 1: base 2000 -> 1500 ms
    await clock.advance(1499);
    assert.equal(api.watchCalls.length, 2);
    await clock.advance(1);
    assert.equal(api.watchCalls.length, 3);
    assert.equal(informer.stats().failingSince, brokenAt, 'still failing: the first failure counts');
    // attempt 2: base 4000 -> 3000 ms; this one succeeds
    await clock.advance(3000);
    assert.equal(api.watchCalls.length, 4);
    assert.equal(api.openWatches(), 1);
    assert.equal(informer.stats().failingSince, undefined, 'a watch that opens ends the failure');
    assert.equal(api.listCalls.length, 1, 'no relist for a plain watch failure');
    assert.deepEqual(
      api.watchCalls.map((w) => w.resourceVersion),
      ['101', '101', '101', '101'],
    );
    assert.ok(api.watchCalls.every((w) => w.allowWatchBookmarks));
    api.put(obj('ns', 'b'));
    await settle();
    assert.ok(informer.get('ns/b'));
    informer.stop();
  });

  it('relists after repeated watch failures, and retries failed lists with backoff', async () => {
    const { api, clock, informer } = setup({ relistAfterWatchFailures: 2 });
    api.failLists.push(new Error('down'));
    api.put(obj('ns', 'a'));
    informer.start();
    await settle();
    assert.equal(informer.hasSynced(), false);
    await clock.advance(1000);
    assert.equal(informer.hasSynced(), true);
    assert.equal(api.listCalls.length, 2);
    api.failWatches.push(new Error('refused'));
    api.breakWatches(new Error('reset'));
    await clock.advance(60_000);
    assert.equal(api.listCalls.length, 3);
    assert.equal(api.openWatches(), 1);
    informer.stop();
  });

  it('rewatches at once, without relisting, after the server closes a watch cleanly', async () => {
    const { api, clock, informer } = setup();
    api.put(obj('ns', 'a'));
    informer.start();
    await informer.waitForSync();
    await settle();
    await clock.advance(5000);
    api.put(obj('ns', 'b'));
    api.bookmark();
    await settle();
    api.breakWatches();
    await settle();
    assert.equal(api.watchCalls.length, 2);
    assert.equal(api.watchCalls[1]?.resourceVersion, '102');
    assert.equal(api.listCalls.length, 1);
    informer.stop();
  });

  it('takes the resourceVersion of bookmarks', async () => {
    const { api, clock, informer } = setup();
    informer.start();
    await informer.waitForSync();
    await settle();
    api.rv = 500; // other kinds moved the revision on
    api.bookmark();
    await settle();
    assert.equal(informer.stats().resourceVersion, '500');
    await clock.advance(5000);
    api.breakWatches();
    await settle();
    assert.equal(api.watchCalls.at(-1)?.resourceVersion, '500');
    informer.stop();
  });

  it('restarts a watch that goes silent, but not one that gets bookmarks', async () => {
    const { api, clock, informer } = setup();
    informer.start();
    await informer.waitForSync();
    await settle();
    for (let i = 0; i < 5; i++) {
      await clock.advance(30_000);
      api.bookmark();
      await settle();
    }
    assert.equal(informer.stats().stalls, 0);
    assert.equal(api.watchCalls.length, 1);
    await clock.advance(60_000);
    assert.equal(informer.stats().stalls, 1);
    assert.equal(api.watchCalls.length, 2);
    assert.equal(api.openWatches(), 1, 'the stalled watch was closed');
    assert.equal(api.listCalls.length, 1);
    informer.stop();
  });

  it('survives handlers that throw; other handlers still hear every event', async () => {
    const { api, informer, events } = setup();
    informer.addHandler({
      onAdd: () => {
        throw new Error('boom');
      },
      onSync: () => {
        throw new Error('boom');
      },
    });
    api.put(obj('ns', 'a'));
    informer.start();
    await informer.waitForSync();
    await settle();
    api.put(obj('ns', 'b'));
    await settle();
    assert.deepEqual(events, ['add ns/a', 'sync', 'add ns/b']);
    assert.equal(informer.stats().handlerErrors, 3);
    assert.equal(api.openWatches(), 1);
    informer.stop();
  });

  it('does not keep objects its filter rejects; prune and resync apply a changed filter', async () => {
    const allowed = new Set(['in']);
    const { api, informer, events } = setup({ keep: (o) => allowed.has(o.metadata.namespace ?? '') });
    api.put(obj('in', 'a'));
    api.put(obj('out', 'b'));
    informer.start();
    await informer.waitForSync();
    await settle();
    assert.deepEqual(informer.keys(), ['in/a']);
    api.put(obj('out', 'c'));
    await settle();
    assert.deepEqual(informer.keys(), ['in/a']);
    events.length = 0;
    allowed.add('out');
    informer.resync();
    await settle();
    assert.deepEqual(informer.keys().sort(), ['in/a', 'out/b', 'out/c']);
    assert.deepEqual(events, ['add out/b', 'add out/c', 'sync']);
    events.length = 0;
    allowed.delete('in');
    informer.prune();
    assert.deepEqual(events, ['delete in/a']);
    assert.deepEqual(informer.keys().sort(), ['out/b', 'out/c']);
    informer.stop();
  });

  it('replays the store to a handler added after sync', async () => {
    const { api, informer } = setup();
    api.put(obj('ns', 'a'));
    informer.start();
    await informer.waitForSync();
    await settle();
    const seen: string[] = [];
    informer.addHandler({ onAdd: (o) => seen.push(o.metadata.name), onSync: () => seen.push('sync') });
    assert.deepEqual(seen, ['a', 'sync']);
    informer.stop();
  });

  it('rejects bad options with a message naming the option, and starts nothing', () => {
    const api = new FakeApi();
    const base = { name: 'x', path: '/api/v1/pods', client: api };
    const cases: [Partial<InformerOptions<KubeObject>>, RegExp][] = [
      [{ path: 'api/v1/pods' }, /option path must be a collection path starting with '\/'/],
      [{ pageSize: 0 }, /option pageSize must be a positive integer; got 0/],
      [{ stallTimeoutMs: -5 }, /option stallTimeoutMs must be a positive number/],
      [{ backoff: { initialMs: 500, maxMs: 100 } }, /option backoff.maxMs must be at least backoff.initialMs; got 100/],
    ];
    for (const [extra, message] of cases) {
      assert.throws(() => new Informer<KubeObject>({ ...base, ...extra }), (e: unknown) => e instanceof InformerOptionError && message.test(e.message));
    }
    assert.equal(api.listCalls.length, 0);
  });

  it('stops: no more calls to the API and no timers left', async () => {
    const { api, clock, informer } = setup();
    informer.start();
    await informer.waitForSync();
    await settle();
    informer.stop();
    assert.equal(api.openWatches(), 0);
    assert.equal(clock.pendingTimers, 0);
    api.put(obj('ns', 'late'));
    await clock.advance(600_000);
    assert.equal(informer.get('ns/late'), undefined);
    assert.equal(api.watchCalls.length, 1);
  });
});
