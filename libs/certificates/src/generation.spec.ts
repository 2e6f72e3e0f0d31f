import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generationAt, generationStart, rotationOffsetMs, rotationPeriodMs } from './generation.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const bookstore = 'service:shop/bookstore';

describe('certificate generations', () => {
  it('the period is half the validity', () => {
    assert.equal(rotationPeriodMs(24 * HOUR), 12 * HOUR);
    assert.equal(rotationPeriodMs(10 * MIN), 5 * MIN);
  });

  it('the offset is a stable hash of the identity: replicas of different versions must agree on it', () => {
    // Pinned: changing the hash would make an upgraded replica disagree with the others on every version.
    assert.equal(rotationOffsetMs(bookstore, 12 * HOUR), 32_277_939);
    assert.equal(rotationOffsetMs(bookstore, 5 * MIN), 177_939);
  });

  const validities = [10 * MIN, 90 * MIN, 24 * HOUR, 7 * 24 * HOUR + 1];
  for (const validity of validities) {
    it(`validity ${validity} ms: each instant lies in exactly one generation, and generations follow one another every period`, () => {
      const period = rotationPeriodMs(validity);
      for (const identity of [bookstore, 'service:shop/bookbuyer', 'server:osm-controller.osm-system.svc']) {
        const g = generationAt(identity, validity, T0);
        const start = generationStart(identity, validity, g);
        assert.ok(start <= T0 && T0 < start + period, `${identity}: T0 in [${start}, ${start + period})`);
        assert.equal(generationStart(identity, validity, g + 1), start + period);
        // The boundaries themselves: the first millisecond of g+1 is in g+1, the last of g in g.
        assert.equal(generationAt(identity, validity, start + period), g + 1);
        assert.equal(generationAt(identity, validity, start + period - 1), g);
        assert.equal(generationAt(identity, validity, start), g);
        assert.equal(generationAt(identity, validity, start - 1), g - 1);
      }
    });
  }

  it('offsets spread identities over the period: they do not all rotate at once', () => {
    const period = rotationPeriodMs(24 * HOUR);
    const buckets = Array.from({ length: 10 }, () => 0);
    const offsets = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const offset = rotationOffsetMs(`service:ns-${i % 37}/sa-${i}`, period);
      assert.ok(offset >= 0 && offset < period);
      offsets.add(offset);
      const tenth = Math.floor((offset / period) * 10);
      buckets[tenth] = (buckets[tenth] ?? 0) + 1;
    }
    assert.ok(offsets.size > 1990, `distinct offsets: ${offsets.size}`);
    // 200 expected per tenth of the period; a uniform spread stays well within 140..260.
    for (const [i, n] of buckets.entries()) assert.ok(n > 140 && n < 260, `tenth ${i} of the period holds ${n} of 2000 identities`);
  });
});
