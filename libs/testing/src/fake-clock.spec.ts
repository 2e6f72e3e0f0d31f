import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from './fake-clock.ts';

describe('FakeClock', () => {
  it('starts at the given time (0 by default) and moves only when told', async () => {
    assert.equal(new FakeClock().now(), 0);
    const clock = new FakeClock(1_000);
    assert.equal(clock.now(), 1_000);
    await clock.advance(250);
    assert.equal(clock.now(), 1_250);
  });

  it('fires due timers in time order, then set order, each at its own time', async () => {
    const clock = new FakeClock(100);
    const fired: string[] = [];
    clock.setTimer(() => fired.push(`b@${clock.now()}`), 20);
    clock.setTimer(() => fired.push(`a@${clock.now()}`), 10);
    clock.setTimer(() => fired.push(`c@${clock.now()}`), 20);
    clock.setTimer(() => fired.push(`late@${clock.now()}`), 31);
    await clock.advance(30);
    assert.deepEqual(fired, ['a@110', 'b@120', 'c@120']);
    assert.equal(clock.now(), 130);
    assert.equal(clock.pendingTimers, 1);
  });

  it('fires timers that a firing timer sets when they fall due within the same advance', async () => {
    const clock = new FakeClock();
    const fired: number[] = [];
    clock.setTimer(() => clock.setTimer(() => fired.push(clock.now()), 5), 5);
    await clock.advance(10);
    assert.deepEqual(fired, [10]);
  });

  it('lets promise chains started by a timer settle before the next timer fires', async () => {
    const clock = new FakeClock();
    const log: string[] = [];
    clock.setTimer(() => void Promise.resolve().then(() => Promise.resolve()).then(() => log.push('chain')), 1);
    clock.setTimer(() => log.push('second'), 2);
    await clock.advance(2);
    assert.deepEqual(log, ['chain', 'second']);
  });

  it('does not fire a cancelled timer', async () => {
    const clock = new FakeClock();
    let fired = false;
    const timer = clock.setTimer(() => (fired = true), 10);
    assert.equal(clock.pendingTimers, 1);
    timer.cancel();
    assert.equal(clock.pendingTimers, 0);
    await clock.advance(20);
    assert.equal(fired, false);
  });

  it('jump moves time without firing timers; the next advance fires them without moving time back', async () => {
    const clock = new FakeClock();
    const fired: number[] = [];
    clock.setTimer(() => fired.push(clock.now()), 10);
    clock.jump(50);
    assert.equal(clock.now(), 50);
    assert.deepEqual(fired, []);
    await clock.advance(0);
    assert.deepEqual(fired, [50]);
    assert.equal(clock.now(), 50);
  });
});
