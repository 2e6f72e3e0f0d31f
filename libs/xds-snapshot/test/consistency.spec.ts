import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildSnapshot, checkConsistency, snapshotOf } from '../src/index.ts';
import type { EncodedResource, Snapshot } from '../src/index.ts';
import { bookstoreModel, inputsFor, proxies } from './bookstore.ts';

const all = (s: Snapshot): EncodedResource[] => Object.values(s.types).flatMap((set) => [...set.resources.values()]);
const without = (s: Snapshot, type: string, name: string): Snapshot => snapshotOf(s.proxy, all(s).filter((r) => !(r.type === type && r.name === name)));

describe('checkConsistency', () => {
  const full = buildSnapshot(bookstoreModel('smi'), proxies.bookbuyer, inputsFor(proxies.bookbuyer));

  it('accepts a built snapshot', () => {
    assert.deepEqual(checkConsistency(full), { consistent: true });
  });

  const table: [string, string, { type: string; name: string; referencedBy: string }[]][] = [
    ['clusters', 'bookstore/bookstore-v1|14001', [{ type: 'clusters', name: 'bookstore/bookstore-v1|14001', referencedBy: 'routes/rds-outbound.14001' }]],
    ['routes', 'rds-outbound.14001', [{ type: 'routes', name: 'rds-outbound.14001', referencedBy: 'listeners/outbound-listener' }]],
    ['endpoints', 'bookstore/bookstore-v2|14001', [{ type: 'endpoints', name: 'bookstore/bookstore-v2|14001', referencedBy: 'clusters/bookstore/bookstore-v2|14001' }]],
    [
      'secrets',
      'service-cert',
      [
        { type: 'secrets', name: 'service-cert', referencedBy: 'clusters/bookstore/bookstore-v1|14001' },
        { type: 'secrets', name: 'service-cert', referencedBy: 'clusters/bookstore/bookstore-v2|14001' },
      ],
    ],
  ];
  for (const [type, name, missing] of table) {
    it(`reports a dangling reference when ${type}/${name} is absent`, () => {
      assert.deepEqual(checkConsistency(without(full, type, name)), { consistent: false, missing });
    });
  }

  it('reports the inbound listener secrets when they are absent', () => {
    const s = buildSnapshot(bookstoreModel('smi'), proxies.mysql, inputsFor(proxies.mysql));
    const result = checkConsistency(without(s, 'secrets', 'root-cert-for-mtls-inbound'));
    assert.deepEqual(result, { consistent: false, missing: [{ type: 'secrets', name: 'root-cert-for-mtls-inbound', referencedBy: 'listeners/inbound-listener' }] });
  });
});
