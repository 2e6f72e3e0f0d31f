import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { FakeClock, settle } from '@osm/testing';
import { countingRandom, HOUR, makeRootPem, makeSigningCA, T0 } from '../test/fixtures.ts';
import { LocalCertificateAuthority, type IssueRequest, type IssuedCertificate } from './authority.ts';
import { CertificateCache, type CachedCertificate, type RotationEvent } from './cache.ts';
import { generationAt, generationStart } from './generation.ts';
import type { SigningCA } from './x509.ts';
import { CLOCK_SKEW_MS } from './x509.ts';

const MIN = 60_000;
const bookstore = { kind: 'service', serviceAccount: 'bookstore', namespace: 'shop' } as const;
const bookbuyer = { kind: 'service', serviceAccount: 'bookbuyer', namespace: 'shop' } as const;
const BOOKSTORE = 'service:shop/bookstore';
const BOOKBUYER = 'service:shop/bookbuyer';

const signingCA = await makeSigningCA();

interface Setup {
  validityMs?: number | (() => number);
  failNext?: { count: number };
  clock?: FakeClock;
  ca?: SigningCA;
  /** Timers fire this much early (a wall clock that moved ahead of the timer's). */
  timersEarlyMs?: number;
}

function setup(options: Setup = {}) {
  const clock = options.clock ?? new FakeClock(T0);
  const authority = new LocalCertificateAuthority({ ca: options.ca ?? signingCA, trustDomain: 'cluster.local', clock, random: countingRandom() });
  const requests: { request: IssueRequest; at: number }[] = [];
  const failNext = options.failNext ?? { count: 0 };
  const counting = {
    issue: async (request: IssueRequest): Promise<IssuedCertificate> => {
      requests.push({ request, at: clock.now() });
      await settle();
      if (failNext.count > 0) {
        failNext.count--;
        throw new Error('issuer unavailable');
      }
      return authority.issue(request);
    },
  };
  const early = options.timersEarlyMs ?? 0;
  const errors: { identity: string; error: unknown }[] = [];
  const cache = new CertificateCache({
    authority: counting,
    validityMs: options.validityMs ?? 10 * MIN,
    clock: early === 0 ? clock : { now: () => clock.now(), setTimer: (fn, delayMs) => clock.setTimer(fn, delayMs > early ? delayMs - early : delayMs) },
    retryMs: 1000,
    onError: (identity, error) => errors.push({ identity, error }),
  });
  const events: RotationEvent[] = [];
  cache.onRotate((e) => events.push(e));
  return { clock, cache, requests, events, errors, failNext };
}

/** When the generation after the certificate's begins. */
function nextBoundary(certificate: CachedCertificate, identity: string): number {
  assert.ok(certificate.generation, 'the certificate has a generation');
  return generationStart(identity, certificate.generation.validityMs, certificate.generation.index + 1);
}

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

  it('renews exactly when the next generation begins, then every period, and tells listeners: same CN, new serial, next generation', async () => {
    const { clock, cache, events, requests } = setup({ validityMs: 10 * MIN });
    const first = await cache.get(bookstore);
    await cache.get(bookbuyer);
    assert.deepEqual(first.generation, { index: generationAt(BOOKSTORE, 10 * MIN, T0), validityMs: 10 * MIN, rootFingerprint: signingCA.fingerprint });
    const boundary = nextBoundary(first, BOOKSTORE);
    assert.ok(boundary > T0 && boundary <= T0 + 5 * MIN, 'within one period (half the validity)');
    const mine = (): RotationEvent[] => events.filter((e) => e.identity === BOOKSTORE);
    await clock.advance(boundary - T0 - 1);
    assert.equal(mine().length, 0, 'not a millisecond early');
    await clock.advance(1);
    assert.equal(mine().length, 1);
    const event = mine()[0];
    assert.ok(event);
    assert.equal(event.previous, first);
    assert.equal(event.current.generation?.index, (first.generation?.index ?? 0) + 1);
    assert.equal(event.current.commonName, first.commonName);
    assert.notEqual(event.current.serial, first.serial);
    assert.ok(clock.now() < first.notAfter, 'renewed before the old certificate expired');
    assert.equal(new X509Certificate(event.current.certificatePem).subject, 'CN=bookstore.shop.cluster.local');
    assert.equal(cache.peek(bookstore), event.current);
    assert.equal(await cache.get(bookstore), event.current);
    // And again one period (5 minutes) later.
    await clock.advance(5 * MIN - 1);
    assert.equal(mine().length, 1);
    await clock.advance(1);
    assert.equal(mine().length, 2);
    const times = requests.filter((r) => r.request.subject === bookstore).map((r) => r.at);
    assert.deepEqual(times, [T0, boundary, boundary + 5 * MIN]);
    // The other identity has its own offset: it rotated at another instant.
    const other = events.find((e) => e.identity === BOOKBUYER);
    assert.ok(other);
    assert.notEqual(nextBoundary(other.previous, BOOKBUYER), boundary);
  });

  it('replicas issuing at any time within one generation hold different certificates of that generation, each valid for at least a period after the next begins', async () => {
    const validity = 10 * MIN;
    const period = validity / 2;
    for (const [identity, subject] of [
      [BOOKSTORE, bookstore],
      [BOOKBUYER, bookbuyer],
    ] as const) {
      const index = generationAt(identity, validity, T0);
      const start = generationStart(identity, validity, index);
      const next = start + period;
      const certificates = new Set<string>();
      for (const at of [start, start + 1, start + period / 2, next - 1000, next - 1]) {
        const { cache } = setup({ clock: new FakeClock(at), validityMs: validity });
        const certificate = await cache.get(subject);
        assert.deepEqual(certificate.generation, { index, validityMs: validity, rootFingerprint: signingCA.fingerprint }, `${identity} issued at start + ${at - start} ms`);
        certificates.add(certificate.certificatePem);
        // X.509 times have a resolution of one second: the validity may end up to a second short.
        assert.ok(certificate.notAfter >= next + period - 1000, `${identity} issued at start + ${at - start} ms: valid until ${certificate.notAfter - next} ms into the next generation`);
        cache.close();
      }
      assert.equal(certificates.size, 5, 'each replica its own certificate');
      const { cache } = setup({ clock: new FakeClock(next), validityMs: validity });
      assert.equal((await cache.get(subject)).generation?.index, index + 1, 'from the first millisecond of the next generation on, certificates are of that one');
      cache.close();
    }
  });

  it('a caller arriving after the boundary gets a fresh certificate even if the timer has not fired', async () => {
    const { clock, cache, requests, events } = setup();
    const first = await cache.get(bookstore);
    clock.jump(nextBoundary(first, BOOKSTORE) - T0); // a stalled event loop: time passes, timers have not run
    const second = await cache.get(bookstore);
    assert.equal(requests.length, 2);
    assert.notEqual(second.serial, first.serial);
    assert.equal(second.generation?.index, (first.generation?.index ?? 0) + 1);
    assert.equal(events.length, 1);
  });

  it('a timer that fires before the wall clock reaches the boundary waits for it: no certificate of the old generation is issued again', async () => {
    const { clock, cache, requests } = setup({ timersEarlyMs: 50 });
    const first = await cache.get(bookstore);
    const boundary = nextBoundary(first, BOOKSTORE);
    await clock.advance(boundary - T0 - 1);
    assert.equal(requests.length, 1);
    await clock.advance(1);
    assert.deepEqual(
      requests.map((r) => r.at),
      [T0, boundary],
    );
    assert.equal(cache.peek(bookstore)?.generation?.index, (first.generation?.index ?? 0) + 1);
  });

  it('a failed renewal is reported and retried until it succeeds; meanwhile the old generation is served, still valid', async () => {
    const failNext = { count: 0 };
    const { clock, cache, events, errors, requests } = setup({ failNext });
    const first = await cache.get(bookstore);
    failNext.count = 2;
    await clock.advance(nextBoundary(first, BOOKSTORE) - T0);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.identity, BOOKSTORE);
    assert.equal(events.length, 0);
    assert.equal(cache.peek(bookstore), first);
    assert.ok(clock.now() < first.notAfter);
    await clock.advance(1000);
    assert.equal(errors.length, 2);
    assert.equal(events.length, 0);
    await clock.advance(1000);
    assert.equal(events.length, 1);
    assert.equal(requests.length, 4);
    assert.equal(cache.peek(bookstore)?.generation?.index, (first.generation?.index ?? 0) + 1);
  });

  it('a caller arriving when renewal is due but failing still gets the valid certificate', async () => {
    const failNext = { count: 0 };
    const { clock, cache, errors, events } = setup({ failNext });
    const first = await cache.get(bookstore);
    clock.jump(nextBoundary(first, BOOKSTORE) - T0);
    failNext.count = 1;
    assert.equal(await cache.get(bookstore), first);
    assert.equal(errors.length, 1);
    await clock.advance(2_000); // the renewal timer renews it
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
    await clock.advance(5 * MIN);
    assert.deepEqual(
      events.map((e) => e.identity),
      [BOOKBUYER],
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
    await clock.advance(5 * MIN);
    assert.deepEqual(seen, [BOOKSTORE]);
    assert.match(String(errors[0]?.error), /listener broke/);
  });

  it('a short-lived certificate (backdated notBefore) is served until its boundary, not renewed on every get', async () => {
    const { clock, cache, requests } = setup({ validityMs: 8000 });
    const first = await cache.get(bookstore);
    const boundary = nextBoundary(first, BOOKSTORE);
    assert.ok(boundary <= T0 + 4000);
    clock.jump(boundary - T0 - 1);
    assert.equal(await cache.get(bookstore), first);
    assert.equal(requests.length, 1);
    clock.jump(1);
    assert.notEqual(await cache.get(bookstore), first, 'renewed once the next 4 s generation began');
  });

  it('a certificate cut short by the root expiring has no generation and is renewed at half its lifetime', async () => {
    // The root expires 3 minutes after T0; the next generation of bookstore begins about 2 minutes after T0.
    const ca = await makeSigningCA(await makeRootPem({ now: T0 - HOUR, validityMs: HOUR + 3 * MIN }));
    const { clock, cache, requests } = setup({ ca, validityMs: 10 * MIN });
    const first = await cache.get(bookstore);
    assert.equal(first.notAfter, T0 + 3 * MIN);
    assert.equal(first.generation, undefined);
    await clock.advance(90_000);
    assert.deepEqual(
      requests.map((r) => r.at),
      [T0, T0 + 90_000],
    );
    cache.close();
  });

  it('reads the validity at each issuance; a changed validity renews on the next get, into the new schedule', async () => {
    let validity = 10 * MIN;
    const { cache, events, requests } = setup({ validityMs: () => validity });
    const first = await cache.get(bookstore);
    // Lifetime = validity + the backdating for clock skew.
    assert.equal(first.notAfter - first.notBefore, 10 * MIN + CLOCK_SKEW_MS);
    validity = 60 * MIN;
    const second = await cache.get(bookstore);
    assert.equal(second.notAfter - second.notBefore, 60 * MIN + CLOCK_SKEW_MS);
    assert.deepEqual(second.generation, { index: generationAt(BOOKSTORE, 60 * MIN, T0), validityMs: 60 * MIN, rootFingerprint: signingCA.fingerprint });
    assert.equal(events.length, 1);
    assert.equal(await cache.get(bookstore), second);
    assert.equal(requests.length, 2);
  });
});
