// A certificate per identity: issued once (single-flight), renewed before expiry with jitter, and a
// subscription that says which identity rotated (the controller pushes SDS on it).
import type { Clock, TimerHandle } from '@osm/clock';
import type { CertificateAuthority, IssuedCertificate } from './authority.ts';
import { identityKey, type CertificateSubject } from './identity.ts';
import type { KeyAlgorithm } from './x509.ts';

export const MIN_RENEW_BEFORE_MS = 5 * 60 * 1000;
/** Jitter adds up to this fraction of the renewal window, so replicas and identities do not renew in step. */
export const RENEW_JITTER_FRACTION = 0.2;

/**
 * When to renew: once the remaining lifetime drops below max(lifetime/3, 5 min) plus jitter
 * (`jitter` in [0, 1)). The window is capped at half the lifetime for certificates cut short by the root's expiry.
 * The lifetime counts from when the certificate was issued (`issuedAt`), not from its notBefore: that is
 * set back for clock skew between nodes (CLOCK_SKEW_MS), which must not eat into a short lifetime.
 */
export function renewalTime(certificate: Pick<IssuedCertificate, 'notBefore' | 'notAfter'>, jitter: number, issuedAt = certificate.notBefore): number {
  const lifetime = certificate.notAfter - Math.max(certificate.notBefore, issuedAt);
  const window = Math.min(Math.max(lifetime / 3, MIN_RENEW_BEFORE_MS), lifetime / 2);
  return Math.floor(certificate.notAfter - window - jitter * window * RENEW_JITTER_FRACTION);
}

export interface RotationEvent {
  /** identityKey(subject) */
  readonly identity: string;
  readonly subject: CertificateSubject;
  readonly previous: IssuedCertificate;
  readonly current: IssuedCertificate;
}

export interface CertificateCacheOptions {
  readonly authority: Pick<CertificateAuthority, 'issue'>;
  /** Read at each issuance, so a MeshConfig change applies from the next certificate on. */
  readonly validityMs: number | (() => number);
  readonly clock: Clock;
  /** Uniform in [0, 1); used for renewal jitter. */
  readonly random: () => number;
  readonly keyAlgorithm?: KeyAlgorithm;
  /** Delay before retrying a failed renewal. Default 5 s. */
  readonly retryMs?: number;
  /** Told about failed renewals (which are retried) and listener errors; never throws back. */
  readonly onError?: (identity: string, error: unknown) => void;
}

interface Entry {
  readonly subject: CertificateSubject;
  certificate: IssuedCertificate | undefined;
  renewAt: number;
  inflight: Promise<IssuedCertificate> | undefined;
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
  get(subject: CertificateSubject): Promise<IssuedCertificate> {
    const key = identityKey(subject);
    let entry = this.#entries.get(key);
    if (entry?.inflight) return entry.inflight;
    const now = this.#options.clock.now();
    if (entry?.certificate && now < entry.renewAt) return Promise.resolve(entry.certificate);
    if (!entry) {
      entry = { subject, certificate: undefined, renewAt: 0, inflight: undefined, timer: undefined };
      this.#entries.set(key, entry);
    }
    const current = entry.certificate;
    if (current && now < current.notAfter) {
      // Due for renewal but still valid: renew now, and if that fails keep serving it (the timer retries).
      const renewing = entry;
      return this.#issue(key, renewing).catch((error: unknown) => {
        this.#options.onError?.(key, error);
        if (!this.#closed && this.#entries.get(key) === renewing && !renewing.timer) this.#schedule(key, renewing, this.#options.retryMs ?? 5000);
        return current;
      });
    }
    return this.#issue(key, entry);
  }

  /** The cached certificate without issuing. */
  peek(subject: CertificateSubject): IssuedCertificate | undefined {
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

  #issue(key: string, entry: Entry): Promise<IssuedCertificate> {
    const validity = this.#options.validityMs;
    const request = {
      subject: entry.subject,
      validityMs: typeof validity === 'function' ? validity() : validity,
      ...(this.#options.keyAlgorithm ? { keyAlgorithm: this.#options.keyAlgorithm } : {}),
    };
    const inflight = this.#options.authority.issue(request).then(
      (certificate) => {
        entry.inflight = undefined;
        if (this.#closed || this.#entries.get(key) !== entry) return certificate; // deleted meanwhile
        const previous = entry.certificate;
        entry.certificate = certificate;
        entry.renewAt = renewalTime(certificate, this.#options.random(), this.#options.clock.now());
        this.#schedule(key, entry, entry.renewAt - this.#options.clock.now());
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

  #schedule(key: string, entry: Entry, delayMs: number): void {
    entry.timer?.cancel();
    entry.timer = this.#options.clock.setTimer(() => {
      entry.timer = undefined;
      if (this.#closed || this.#entries.get(key) !== entry || entry.inflight) return;
      this.#issue(key, entry).catch((error: unknown) => {
        this.#options.onError?.(key, error);
        if (!this.#closed && this.#entries.get(key) === entry) this.#schedule(key, entry, this.#options.retryMs ?? 5000);
      });
    }, Math.max(0, delayMs));
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
