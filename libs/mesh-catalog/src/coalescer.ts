import type { Clock, TimerHandle } from '@osm/clock';

/**
 * Collects pokes into batches: a batch fires `windowMs` after the last poke (a sliding window),
 * but never later than `maxDelayMs` after its first one, so a steady stream of changes still flushes.
 */
export class Coalescer {
  readonly #clock: Clock;
  readonly #windowMs: number;
  readonly #maxDelayMs: number;
  readonly #flush: (pokes: number) => void;
  #timer: TimerHandle | undefined;
  #first = 0;
  #last = 0;
  #pokes = 0;

  constructor(clock: Clock, windowMs: number, maxDelayMs: number, flush: (pokes: number) => void) {
    this.#clock = clock;
    this.#windowMs = windowMs;
    this.#maxDelayMs = maxDelayMs;
    this.#flush = flush;
  }

  get pending(): boolean {
    return this.#pokes > 0;
  }

  poke(): void {
    const now = this.#clock.now();
    this.#last = now;
    if (this.#pokes++ === 0) {
      this.#first = now;
      this.#arm(this.#windowMs);
    }
  }

  /** Flushes a pending batch now. */
  flushNow(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    if (this.#pokes === 0) return;
    const pokes = this.#pokes;
    this.#pokes = 0;
    this.#flush(pokes);
  }

  cancel(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#pokes = 0;
  }

  #arm(ms: number): void {
    this.#timer = this.#clock.setTimer(() => this.#fire(), ms);
  }

  #fire(): void {
    this.#timer = undefined;
    const due = Math.min(this.#last + this.#windowMs, this.#first + this.#maxDelayMs);
    const now = this.#clock.now();
    if (now < due) return this.#arm(due - now);
    this.flushNow();
  }
}
