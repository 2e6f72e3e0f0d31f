// Time comes in through this interface so tests can drive it.

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Calls `fn` once after `delayMs`. The system clock's timers do not keep the process alive. */
  setTimer(fn: () => void, delayMs: number): TimerHandle;
}

// setTimeout overflows past 2^31-1 ms (~24.8 days); longer waits are chained.
const MAX_TIMEOUT = 0x7fffffff;

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
