import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveServiceCertValidity } from './validity.ts';

describe('resolveServiceCertValidity', () => {
  it('defaults to 24h when unset', () => assert.deepEqual(resolveServiceCertValidity(undefined), { validityMs: 86_400_000 }));
  it('uses a valid duration', () => assert.deepEqual(resolveServiceCertValidity('1h'), { validityMs: 3_600_000 }));
  it('raises values below the 10m floor', () => {
    const r = resolveServiceCertValidity('1m');
    assert.equal(r.validityMs, 600_000);
    assert.match(r.problem ?? '', /certificate\.serviceCertValidityDuration "1m" is below the minimum of 10m/);
  });
  for (const bad of ['forever', '-1h', 42, '0s']) {
    it(`invalid ${JSON.stringify(bad)}: clear error naming the field, default used`, () => {
      const r = resolveServiceCertValidity(bad);
      assert.equal(r.validityMs, 86_400_000);
      assert.match(r.problem ?? '', /^certificate\.serviceCertValidityDuration .* is not a valid duration: expected .*"24h".*; using the default 24h$/);
    });
  }
});
