// Certificate generations: when an identity's certificate is renewed, computed the same way on every
// replica and after every restart, with no clock read and no randomness. Generation g of an identity
// covers [g*P - o, (g+1)*P - o) for the period P = validity / 2 and an offset o in [0, P) taken from a
// hash of the identity, so that identities do not all rotate at the same instant (the offset is the
// jitter). A certificate issued at t belongs to generation(t) and is valid until t + validity: whenever
// in g it was issued, it stays valid for at least P after generation g+1 begins, which is when every
// replica moves to g+1. So certificates of one generation are interchangeable, and a proxy holding any
// replica's certificate of the current generation needs nothing new (the SDS version names the
// generation, not the certificate's bytes).
import { hash } from 'node:crypto';

/** The rotation period for a validity: half of it. */
export function rotationPeriodMs(validityMs: number): number {
  return Math.max(1, Math.floor(validityMs / 2));
}

/** The identity's offset in [0, period): a stable hash, the same on every replica. */
export function rotationOffsetMs(identity: string, periodMs: number): number {
  // 48 bits of SHA-256: exact in a double, and uniform enough modulo any period below a few years.
  return parseInt(hash('sha256', identity, 'hex').slice(0, 12), 16) % periodMs;
}

/** The identity's generation at `atMs` (epoch milliseconds) for a validity. */
export function generationAt(identity: string, validityMs: number, atMs: number): number {
  const period = rotationPeriodMs(validityMs);
  return Math.floor((atMs + rotationOffsetMs(identity, period)) / period);
}

/** When the identity's generation `index` begins (epoch milliseconds). */
export function generationStart(identity: string, validityMs: number, index: number): number {
  const period = rotationPeriodMs(validityMs);
  return index * period - rotationOffsetMs(identity, period);
}
