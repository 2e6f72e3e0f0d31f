import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CatalogBatch } from '@osm/mesh-catalog';
import { meshModel, type Proxy } from '@osm/mesh-model';
import { FakeClock } from '@osm/testing';
import { CatalogProxyDirectory } from './directory.ts';

const proxy: Proxy = { uuid: 'u-1', identity: { namespace: 'shop', name: 'web' }, namespace: 'shop', podName: 'web-1', services: [], prometheusScrape: false };
const batch = (proxies: Proxy[]): CatalogBatch => ({ sequence: 1, model: meshModel({ proxies }), previous: undefined, identities: [], affectedProxies: [], allProxies: true, diff: undefined, changes: 0, problems: [] });

describe('proxy directory over the catalog', () => {
  it('finds a known proxy at once', async () => {
    const d = new CatalogProxyDirectory(10_000, new FakeClock());
    d.onBatch(batch([proxy]));
    assert.equal(await d.find('u-1', new AbortController().signal), proxy);
  });

  it('waits for a batch that has the pod', async () => {
    const clock = new FakeClock();
    const d = new CatalogProxyDirectory(10_000, clock);
    d.onBatch(batch([]));
    const found = d.find('u-1', new AbortController().signal);
    await clock.advance(5_000);
    assert.equal(d.waiting, 1);
    d.onBatch(batch([proxy]));
    assert.equal(await found, proxy);
    assert.equal(d.waiting, 0);
    assert.equal(clock.pendingTimers, 0);
  });

  it('gives up after the bounded wait, and when the stream goes away', async () => {
    const clock = new FakeClock();
    const d = new CatalogProxyDirectory(10_000, clock);
    const timedOut = d.find('u-1', new AbortController().signal);
    await clock.advance(10_000);
    assert.equal(await timedOut, undefined);
    const abort = new AbortController();
    const aborted = d.find('u-1', abort.signal);
    abort.abort();
    assert.equal(await aborted, undefined);
    assert.equal(d.waiting, 0);
    assert.equal(clock.pendingTimers, 0);
  });
});
