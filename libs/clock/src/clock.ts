// Time comes in through this interface so tests can drive it (FakeClock in @osm/testing).

/** A pending timer; cancel() stops it from firing (a no-op once it has fired). */
export interface TimerHandle {
  cancel(): void;
}

/** Time as a lib sees it: the system clock in production, a fake one in tests. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Calls `fn` once after `delayMs`. */
  setTimer(fn: () => void, delayMs: number): TimerHandle;
}

// setTimeout overflows past 2^31-1 ms (~24.8 days); longer waits are chained.
const MAX_TIMEOUT = 0x7fffffff;

/** Date.now and timers that do not keep the process alive, chained past setTimeout's 2^31-1 ms limit. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn: () => void, delayMs: number): TimerHandle {
    let handle: ReturnType<typeof setTimeout>;
    const due = Date.now() + Math.max(0, delayMs);
    const arm = (): void => {
      const remaining = due - Date.now();
      handle = remaining > MAX_TIMEOUT ? setTimeout(arm, MAX_TIMEOUT) : setTimeout(fn, Math.max(0, remaining));
      handle.unref();
    };
    arm();
    return { cancel: () => clearTimeout(handle) };
  },
};
