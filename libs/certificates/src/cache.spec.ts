import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { FakeClock, settle } from '@osm/testing';
import { countingRandom, makeSigningCA, T0 } from '../test/fixtures.ts';
import { LocalCertificateAuthority, type IssueRequest, type IssuedCertificate } from './authority.ts';
import { CertificateCache, renewalTime, type RotationEvent } from './cache.ts';
import { CLOCK_SKEW_MS } from './x509.ts';

const MIN = 60_000;
const bookstore = { kind: 'service', serviceAccount: 'bookstore', namespace: 'shop' } as const;
const bookbuyer = { kind: 'service', serviceAccount: 'bookbuyer', namespace: 'shop' } as const;

const signingCA = await makeSigningCA();

function setup(options: { validityMs?: number | (() => number); failNext?: { count: number } } = {}) {
  const clock = new FakeClock(T0);
  const authority = new LocalCertificateAuthority({ ca: signingCA, trustDomain: 'cluster.local', clock, random: countingRandom() });
  const requests: IssueRequest[] = [];
  const failNext = options.failNext ?? { count: 0 };
  const counting = {
    issue: async (request: IssueRequest): Promise<IssuedCertificate> => {
      requests.push(request);
      await settle();
      if (failNext.count > 0) {
        failNext.count--;
        throw new Error('issuer unavailable');
      }
      return authority.issue(request);
    },
  };
  const errors: { identity: string; error: unknown }[] = [];
  const cache = new CertificateCache({
    authority: counting,
    validityMs: options.validityMs ?? 10 * MIN,
    clock,
    random: () => 0.5,
    retryMs: 1000,
    onError: (identity, error) => errors.push({ identity, error }),
  });
  const events: RotationEvent[] = [];
  cache.onRotate((e) => events.push(e));
  return { clock, cache, requests, events, errors, failNext };
}

describe('renewalTime', () => {
  const cases: { name: string; lifetime: number; jitter: number; remaining: number }[] = [
    { name: '24h: renew with 8h left', lifetime: 24 * 60 * MIN, jitter: 0, remaining: 8 * 60 * MIN },
    { name: '24h with full jitter: 8h plus 20% earlier', lifetime: 24 * 60 * MIN, jitter: 1, remaining: 8 * 60 * MIN * 1.2 },
    { name: '10m: renew with 5m left (the 5 minute floor)', lifetime: 10 * MIN, jitter: 0, remaining: 5 * MIN },
    { name: '6m (cut by root expiry): window capped at half', lifetime: 6 * MIN, jitter: 0, remaining: 3 * MIN },
  ];
  for (const c of cases) {
    it(c.name, () => assert.equal(renewalTime({ notBefore: T0, notAfter: T0 + c.lifetime }, c.jitter), T0 + c.lifetime - c.remaining));
  }
  it('counts the lifetime from issuance, not from the notBefore set back for clock skew', () => {
    // Issued at T0 for 8 s, notBefore set back a minute: renewed half way through the 8 s, as without the backdating.
    assert.equal(renewalTime({ notBefore: T0 - CLOCK_SKEW_MS, notAfter: T0 + 8000 }, 0, T0), T0 + 4000);
    assert.equal(renewalTime({ notBefore: T0 - CLOCK_SKEW_MS, notAfter: T0 + 8000 }, 0), T0 - 26_000, 'without issuedAt it would renew before it was issued');
  });
});

describe('CertificateCache', () => {
  it('single-flight: concurrent callers for one identity share one issuance', async () => {
    const { cache, requests } = setup();
    const all = await Promise.all(Array.from({ length: 10 }, () => cache.get(bookstore)));
    assert.equal(requests.length, 1);
    assert.ok(all.every((c) => c === all[0]));
    assert.equal((await cache.get(bookstore)).serial, all[0]?.serial);
    assert.equal(requests.length, 1);
  });

  it('identities are cached separately', async () => {
    const { cache, requests } = setup();
    const [a, b] = await Promise.all([cache.get(bookstore), cache.get(bookbuyer)]);
    assert.equal(requests.length, 2);
    assert.equal(a.commonName, 'bookstore.shop.cluster.local');
    assert.equal(b.commonName, 'bookbuyer.shop.cluster.local');
    assert.equal(cache.size, 2);
  });

  it('renews before expiry and tells listeners which identity rotated: same CN, new serial', async () => {
    const { clock, cache, events } = setup({ validityMs: 10 * MIN });
    const first = await cache.get(bookstore);
    await cache.get(bookbuyer);
    // 10 minute certificates renew with 5 minutes (+ jitter: 0.5 * 20% of 5m = 30s) left: at 4m30s.
    await clock.advance(4 * MIN + 29_000);
    assert.equal(events.length, 0);
    await clock.advance(2_000);
    assert.equal(events.length, 2);
    const event = events.find((e) => e.identity === 'service:shop/bookstore');
    assert.ok(event);
    assert.equal(event.previous.serial, first.serial);
    assert.equal(event.current.commonName, first.commonName);
    assert.notEqual(event.current.serial, first.serial);
    assert.ok(clock.now() < first.notAfter, 'renewed before the old certificate expired');
    assert.ok(event.current.notAfter > first.notAfter);
    assert.equal(new X509Certificate(event.current.certificatePem).subject, 'CN=bookstore.shop.cluster.local');
    assert.equal(cache.peek(bookstore), event.current);
    assert.equal(await cache.get(bookstore), event.current);
    // And again, on the new certificate's schedule.
    await clock.advance(5 * MIN);
    assert.equal(events.filter((e) => e.identity === 'service:shop/bookstore').length, 2);
  });

  it('a caller arriving after the renewal time gets a fresh certificate even if the timer has not fired', async () => {
    const { clock, cache, requests, events } = setup();
    const first = await cache.get(bookstore);
    clock.jump(4 * MIN + 31_000); // a stalled event loop: time passes, timers have not run
    const second = await cache.get(bookstore);
    assert.equal(requests.length, 2);
    assert.notEqual(second.serial, first.serial);
    assert.equal(events.length, 1);
  });

  it('a failed renewal is reported and retried until it succeeds', async () => {
    const failNext = { count: 0 };
    const { clock, cache, events, errors, requests } = setup({ failNext });
    await cache.get(bookstore);
    failNext.count = 2;
    await clock.advance(4 * MIN + 30_500);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.identity, 'service:shop/bookstore');
    assert.equal(events.length, 0);
    await clock.advance(2_000);
    assert.equal(errors.length, 2);
    assert.equal(events.length, 1);
    assert.equal(requests.length, 4);
  });

  it('a caller arriving when renewal is due but failing still gets the valid certificate', async () => {
    const failNext = { count: 0 };
    const { clock, cache, errors, events } = setup({ failNext });
    const first = await cache.get(bookstore);
    clock.jump(4 * MIN + 31_000);
    failNext.count = 1;
    assert.equal(await cache.get(bookstore), first);
    assert.equal(errors.length, 1);
    await clock.advance(2_000); // the retry timer renews it
    assert.equal(events.length, 1);
    assert.notEqual(cache.peek(bookstore), first);
  });

  it('an issuance failure reaches the caller and the next call tries again', async () => {
    const failNext = { count: 1 };
    const { cache } = setup({ failNext });
    await assert.rejects(cache.get(bookstore), /issuer unavailable/);
    assert.equal((await cache.get(bookstore)).commonName, 'bookstore.shop.cluster.local');
  });

  it('delete stops renewing an identity; close stops everything', async () => {
    const { clock, cache, events } = setup();
    await cache.get(bookstore);
    await cache.get(bookbuyer);
    cache.delete(bookstore);
    assert.equal(clock.pendingTimers, 1);
    await clock.advance(6 * MIN);
    assert.deepEqual(
      events.map((e) => e.identity),
      ['service:shop/bookbuyer'],
    );
    cache.close();
    assert.equal(clock.pendingTimers, 0);
  });

  it('unsubscribed listeners are not called; a throwing listener does not stop the others', async () => {
    const { clock, cache, errors } = setup();
    const seen: string[] = [];
    const off = cache.onRotate(() => seen.push('removed'));
    cache.onRotate(() => {
      throw new Error('listener broke');
    });
    cache.onRotate((e) => seen.push(e.identity));
    off();
    await cache.get(bookstore);
    await clock.advance(6 * MIN);
    assert.deepEqual(seen, ['service:shop/bookstore']);
    assert.match(String(errors[0]?.error), /listener broke/);
  });

  it('a short-lived certificate (backdated notBefore) is served until half its lifetime, not renewed on every get', async () => {
    const { clock, cache, requests } = setup({ validityMs: 8000 });
    const first = await cache.get(bookstore);
    await clock.advance(3000);
    assert.equal(await cache.get(bookstore), first);
    assert.equal(requests.length, 1);
    await clock.advance(2000);
    assert.notEqual(await cache.get(bookstore), first, 'renewed once half of the 8 s had passed');
  });

  it('reads the validity at each issuance', async () => {
    let validity = 10 * MIN;
    const { clock, cache } = setup({ validityMs: () => validity });
    const first = await cache.get(bookstore);
    // Lifetime = validity + the backdating for clock skew.
    assert.equal(first.notAfter - first.notBefore, 10 * MIN + CLOCK_SKEW_MS);
    validity = 60 * MIN;
    await clock.advance(6 * MIN);
    const second = await cache.get(bookstore);
    assert.equal(second.notAfter - second.notBefore, 60 * MIN + CLOCK_SKEW_MS);
  });
});
