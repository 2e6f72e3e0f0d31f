import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { envoy } from '@osm/envoy-api';
import { buildSnapshot, checkConsistency, describeMissing, ResourceCache } from '../src/index.ts';
import type { MeshModel } from '@osm/mesh-model';
import { bookstoreModel, inputsFor, proxies } from './bookstore.ts';
import { fingerprint } from './helpers.ts';

describe('ResourceCache (serialize once)', () => {
  const model = bookstoreModel('smi');
  const build = (name: keyof typeof proxies, cache: ResourceCache) => {
    const s = buildSnapshot(model, proxies[name], { ...inputsFor(proxies[name]), cache });
    const result = checkConsistency(s);
    assert.ok(result.consistent, describeMissing(result));
    return s;
  };

  it('shares one encoded resource among the proxies that receive it', () => {
    const cache = new ResourceCache();
    const v1 = build('bookstore-v1', cache);
    const misses = cache.misses;
    const v2 = build('bookstore-v2', cache);
    const a = v1.types.endpoints.resources.get('bookwarehouse/bookwarehouse|14001');
    const b = v2.types.endpoints.resources.get('bookwarehouse/bookwarehouse|14001');
    assert.ok(a && b);
    assert.equal(a, b, 'the same object, encoded once');
    assert.equal(a.bytes, b.bytes);
    assert.ok(cache.hits > 0);
    // The second proxy only encoded what differs (its identity's clusters, certificate, listeners): fewer than the first.
    assert.ok(cache.misses - misses < misses, `${cache.misses - misses} new encodings for bookstore-v2 vs ${misses} for bookstore-v1`);
  });

  it('a rebuild of an unchanged proxy encodes nothing and gives identical output', () => {
    const cache = new ResourceCache();
    const first = build('bookbuyer', cache);
    const misses = cache.misses;
    const again = build('bookbuyer', cache);
    assert.equal(cache.misses, misses);
    assert.deepEqual(fingerprint(again), fingerprint(first));
  });

  it('sweep drops entries that no build used since the previous sweep', () => {
    const cache = new ResourceCache();
    build('bookbuyer', cache);
    build('mysql', cache);
    const size = cache.size;
    assert.equal(cache.sweep(), 0, 'everything was used');
    build('bookbuyer', cache);
    const removed = cache.sweep();
    assert.ok(removed > 0 && cache.size === size - removed, `removed ${removed} of ${size}`);
    const misses = cache.misses;
    build('bookbuyer', cache);
    assert.equal(cache.misses, misses, "bookbuyer's entries survived");
  });

  it("a headless service's outbound filter chain follows its endpoints, also through the memos", () => {
    const cache = new ResourceCache();
    const base = bookstoreModel('permissive');
    const headless = (m: MeshModel, ips: string[]): MeshModel => ({
      ...m,
      services: new Map([...m.services].map(([k, s]) => [k, k === 'bookwarehouse/mysql' ? { ...s, clusterIps: [] } : s])),
      endpoints: new Map([...m.endpoints, ['bookwarehouse/mysql', ips.map((ip) => ({ ip, port: 3306, ready: true }))]]),
    });
    const one = headless(base, ['10.1.0.31']);
    const two: MeshModel = { ...one, endpoints: new Map([...one.endpoints, ['bookwarehouse/mysql', [{ ip: '10.1.0.31', port: 3306, ready: true }, { ip: '10.1.0.32', port: 3306, ready: true }]]]) };
    const ranges = (m: MeshModel): string[] => {
      const s = buildSnapshot(m, proxies.bookbuyer, { ...inputsFor(proxies.bookbuyer), cache });
      assert.ok(checkConsistency(s).consistent);
      const l = envoy.config.listener.v3.Listener.decode(s.types.listeners.resources.get('outbound-listener')?.bytes ?? new Uint8Array());
      const chain = l.filterChains.find((c) => c.name.startsWith('outbound_bookwarehouse/mysql_'));
      return (chain?.filterChainMatch?.prefixRanges ?? []).map((r) => `${r.addressPrefix}/${r.prefixLen}`);
    };
    assert.deepEqual(ranges(one), ['10.1.0.31/32']);
    assert.deepEqual(ranges(two), ['10.1.0.31/32', '10.1.0.32/32']);
  });
});
