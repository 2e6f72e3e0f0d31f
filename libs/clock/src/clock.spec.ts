import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { systemClock } from './clock.ts';

const MAX_TIMEOUT = 2 ** 31 - 1;
// A ref'd wait: systemClock's own timers are unref'd and would not keep the test process alive.
const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const refTimeouts = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('systemClock', () => {
  it('reads epoch milliseconds', () => {
    const before = Date.now();
    const now = systemClock.now();
    assert.ok(now >= before && now <= Date.now());
  });

  it('fires a timer once after its delay', async () => {
    let calls = 0;
    const fired = new Promise<void>((resolve) => systemClock.setTimer(() => (calls++, resolve()), 5));
    const guard = setTimeout(() => undefined, 5_000); // keeps the event loop alive until the timer fires
    await fired;
    clearTimeout(guard);
    await wait(20);
    assert.equal(calls, 1);
  });

  it('does not fire a cancelled timer', async () => {
    let fired = false;
    const timer = systemClock.setTimer(() => (fired = true), 1);
    timer.cancel();
    await wait(30);
    assert.equal(fired, false);
  });

  it('does not fire a delay above 2^31-1 ms early, nor warn about overflow', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    let fired = false;
    const timer = systemClock.setTimer(() => (fired = true), MAX_TIMEOUT + 1_000);
    try {
      await wait(50); // an overflowing setTimeout would have fired after 1 ms
      assert.equal(fired, false);
      assert.deepEqual(warnings.map((w) => w.name), []);
    } finally {
      timer.cancel();
      process.off('warning', onWarning);
    }
  });

  it('does not keep the process alive while a timer is pending', () => {
    const before = refTimeouts();
    const timer = systemClock.setTimer(() => undefined, 60_000);
    try {
      assert.equal(refTimeouts(), before);
    } finally {
      timer.cancel();
    }
  });
});
