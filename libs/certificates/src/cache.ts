// A certificate per identity: issued once (single-flight), renewed when the identity's next generation
// begins (generation.ts: the same instant on every replica), and a subscription that says which
// identity rotated (the controller pushes SDS on it).
import type { Clock, TimerHandle } from '@osm/clock';
import type { CertificateAuthority, IssuedCertificate } from './authority.ts';
import { generationAt, generationStart, rotationPeriodMs } from './generation.ts';
import { identityKey, type CertificateSubject } from './identity.ts';
import type { KeyAlgorithm } from './x509.ts';

/**
 * Which generation a certificate belongs to: equal for every certificate of one identity issued in the
 * same generation, with the same validity, from the same root, on any replica. Such certificates are
 * interchangeable, so a proxy's SDS version names the generation rather than the bytes.
 */
export interface CertificateGeneration {
  readonly index: number;
  readonly validityMs: number;
  readonly rootFingerprint: string;
}

export interface CachedCertificate extends IssuedCertificate {
  /**
   * Undefined for a certificate cut short (by the root's expiry, or by an issuer that shortens the
   * duration) so that it would not last half a period into the next generation: it is renewed at half
   * its lifetime instead, and must be versioned by its bytes.
   */
  readonly generation: CertificateGeneration | undefined;
}

export interface RotationEvent {
  /** identityKey(subject) */
  readonly identity: string;
  readonly subject: CertificateSubject;
  readonly previous: CachedCertificate;
  readonly current: CachedCertificate;
}

/**
 * A certificate requested at `requestedAt` with `validityMs`: its generation and when to renew it. The
 * generation counts from the request, not from the notBefore (set back for clock skew between nodes)
 * nor from when a remote issuer answered: a request made in generation g gets a certificate that lasts
 * at least until g+1 begins plus the whole period, whatever the issuer's latency.
 */
function placeInSchedule(identity: string, issued: Pick<IssuedCertificate, 'notAfter' | 'rootFingerprint'>, validityMs: number, requestedAt: number): { generation: CertificateGeneration | undefined; renewAt: number } {
  const index = generationAt(identity, validityMs, requestedAt);
  const next = generationStart(identity, validityMs, index + 1);
  if (issued.notAfter >= next + rotationPeriodMs(validityMs) / 2) return { generation: { index, validityMs, rootFingerprint: issued.rootFingerprint }, renewAt: next };
  return { generation: undefined, renewAt: Math.min(next, Math.floor(requestedAt + (issued.notAfter - requestedAt) / 2)) };
}

export interface CertificateCacheOptions {
  readonly authority: Pick<CertificateAuthority, 'issue'>;
  /**
   * Read at each issuance and at each get(): when it differs from the validity of the cached
   * certificate (a MeshConfig change), get() renews, so every replica moves to the new schedule.
   */
  readonly validityMs: number | (() => number);
  readonly clock: Clock;
  readonly keyAlgorithm?: KeyAlgorithm;
  /** Delay before retrying a failed renewal. Default 5 s. */
  readonly retryMs?: number;
  /** Told about failed renewals (which are retried) and listener errors; never throws back. */
  readonly onError?: (identity: string, error: unknown) => void;
}

interface Entry {
  readonly subject: CertificateSubject;
  certificate: CachedCertificate | undefined;
  /** The validity the certificate was requested with. */
  validityMs: number;
  renewAt: number;
  inflight: Promise<CachedCertificate> | undefined;
  timer: TimerHandle | undefined;
}

export class CertificateCache {
  readonly #options: CertificateCacheOptions;
  readonly #entries = new Map<string, Entry>();
  readonly #listeners = new Set<(event: RotationEvent) => void>();
  #closed = false;

  constructor(options: CertificateCacheOptions) {
    this.#options = options;
  }

  /** The identity's current certificate, issuing it (once, however many callers wait) if missing or due. */
  get(subject: CertificateSubject): Promise<CachedCertificate> {
    const key = identityKey(subject);
    let entry = this.#entries.get(key);
    if (entry?.inflight) return entry.inflight;
    const now = this.#options.clock.now();
    if (entry?.certificate && now < entry.renewAt && entry.validityMs === this.#validityMs()) return Promise.resolve(entry.certificate);
    if (!entry) {
      entry = { subject, certificate: undefined, validityMs: 0, renewAt: 0, inflight: undefined, timer: undefined };
      this.#entries.set(key, entry);
    }
    const current = entry.certificate;
    if (current && now < current.notAfter) {
      // Due for renewal but still valid: renew now, and if that fails keep serving it (the timer retries).
      const renewing = entry;
      return this.#issue(key, renewing).catch((error: unknown) => {
        this.#options.onError?.(key, error);
        if (!this.#closed && this.#entries.get(key) === renewing && !renewing.timer) this.#schedule(key, renewing, now + (this.#options.retryMs ?? 5000));
        return current;
      });
    }
    return this.#issue(key, entry);
  }

  /** The cached certificate without issuing. */
  peek(subject: CertificateSubject): CachedCertificate | undefined {
    return this.#entries.get(identityKey(subject))?.certificate;
  }

  /** Listeners are called synchronously after a renewal replaced an identity's certificate. */
  onRotate(listener: (event: RotationEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Forgets an identity and stops renewing it. */
  delete(subject: CertificateSubject): void {
    const key = identityKey(subject);
    this.#entries.get(key)?.timer?.cancel();
    this.#entries.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Stops all renewals. */
  close(): void {
    this.#closed = true;
    for (const entry of this.#entries.values()) entry.timer?.cancel();
    this.#entries.clear();
    this.#listeners.clear();
  }

  #validityMs(): number {
    const validity = this.#options.validityMs;
    return typeof validity === 'function' ? validity() : validity;
  }

  #issue(key: string, entry: Entry): Promise<CachedCertificate> {
    const validityMs = this.#validityMs();
    const requestedAt = this.#options.clock.now();
    const request = { subject: entry.subject, validityMs, ...(this.#options.keyAlgorithm ? { keyAlgorithm: this.#options.keyAlgorithm } : {}) };
    const inflight = this.#options.authority.issue(request).then(
      (issued) => {
        entry.inflight = undefined;
        const { generation, renewAt } = placeInSchedule(key, issued, validityMs, requestedAt);
        const certificate: CachedCertificate = { ...issued, generation };
        if (this.#closed || this.#entries.get(key) !== entry) return certificate; // deleted meanwhile
        const previous = entry.certificate;
        entry.certificate = certificate;
        entry.validityMs = validityMs;
        entry.renewAt = renewAt;
        this.#schedule(key, entry, renewAt);
        if (previous) this.#notify({ identity: key, subject: entry.subject, previous, current: certificate });
        return certificate;
      },
      (error: unknown) => {
        entry.inflight = undefined;
        throw error;
      },
    );
    entry.inflight = inflight;
    return inflight;
  }

  /** Renews the entry at `atMs` (epoch milliseconds); a failed renewal is retried after retryMs. */
  #schedule(key: string, entry: Entry, atMs: number): void {
    entry.timer?.cancel();
    const clock = this.#options.clock;
    entry.timer = clock.setTimer(() => {
      entry.timer = undefined;
      if (this.#closed || this.#entries.get(key) !== entry || entry.inflight) return;
      // A timer may fire a little before the wall clock reaches its time: renewing then would issue the
      // old generation again.
      if (clock.now() < atMs) return this.#schedule(key, entry, atMs);
      this.#issue(key, entry).catch((error: unknown) => {
        this.#options.onError?.(key, error);
        if (!this.#closed && this.#entries.get(key) === entry) this.#schedule(key, entry, clock.now() + (this.#options.retryMs ?? 5000));
      });
    }, Math.max(0, atMs - clock.now()));
  }

  #notify(event: RotationEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.#options.onError?.(event.identity, error);
      }
    }
  }
}
