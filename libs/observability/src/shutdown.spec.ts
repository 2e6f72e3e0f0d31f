import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { ObservabilityError } from './errors.ts';
import { createLogger } from './logger.ts';
import { createShutdown } from './shutdown.ts';
import type { ShutdownOptions } from './shutdown.ts';

function harness(options: Partial<ShutdownOptions> = {}) {
  const events: string[] = [];
  const exits: number[] = [];
  const lines: Record<string, unknown>[] = [];
  const signals = new EventEmitter();
  let exited: (code: number) => void = () => undefined;
  const exitCalled = new Promise<number>((resolve) => {
    exited = resolve;
  });
  const logger = createLogger({ component: 'test', level: 'debug', destination: { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) } });
  const shutdown = createShutdown({
    logger,
    signals,
    exit: (code) => {
      exits.push(code);
      exited(code);
    },
    onBegin: () => events.push('not-ready'),
    finalSteps: [{ name: 'close-admin', step: () => void events.push('close-admin') }],
    ...options,
  });
  return { shutdown, signals, events, exits, lines, exitCalled };
}

describe('graceful shutdown', () => {
  it('on SIGTERM: readiness first, then the steps in order, then the final steps, then exit 0', async () => {
    const h = harness();
    h.shutdown.addStep('stop-ads', async () => {
      await new Promise((resolve) => setImmediate(resolve));
      h.events.push('stop-ads');
    });
    h.shutdown.addStep('stop-informers', () => void h.events.push('stop-informers'));
    assert.equal(h.shutdown.shuttingDown, false);
    h.signals.emit('SIGTERM');
    assert.equal(h.shutdown.shuttingDown, true);
    assert.equal(await h.exitCalled, 0);
    assert.deepEqual(h.events, ['not-ready', 'stop-ads', 'stop-informers', 'close-admin']);
    assert.deepEqual(h.exits, [0]);
    assert.equal(h.lines.find((l) => l['msg'] === 'shutting down')?.['reason'], 'SIGTERM');
    h.shutdown.dispose();
  });

  it('runs the remaining steps after a failed one and exits 1', async () => {
    const h = harness();
    h.shutdown.addStep('fails', () => {
      throw new Error('boom');
    });
    h.shutdown.addStep('still-runs', () => void h.events.push('still-runs'));
    h.signals.emit('SIGINT');
    assert.equal(await h.exitCalled, 1);
    assert.deepEqual(h.events, ['not-ready', 'still-runs', 'close-admin']);
    const failed = h.lines.find((l) => l['msg'] === 'shutdown step failed');
    assert.equal(failed?.['step'], 'fails');
    h.shutdown.dispose();
  });

  it('exits 1 at the deadline, naming the step that was running', async () => {
    const h = harness({ deadlineMs: 50 });
    h.shutdown.addStep('never-ends', () => new Promise<void>(() => undefined));
    h.signals.emit('SIGTERM');
    assert.equal(await h.exitCalled, 1);
    assert.equal(h.lines.find((l) => l['msg'] === 'shutdown deadline exceeded; exiting')?.['step'], 'never-ends');
    assert.ok(!h.events.includes('close-admin'));
    h.shutdown.dispose();
  });

  it('exits at once on a second signal, with 128 + the signal number', async () => {
    for (const [second, code] of [
      ['SIGTERM', 143],
      ['SIGINT', 130],
    ] as const) {
      const h = harness({ deadlineMs: 3_600_000 });
      h.shutdown.addStep('never-ends', () => new Promise<void>(() => undefined));
      h.signals.emit('SIGTERM');
      await new Promise((resolve) => setImmediate(resolve));
      h.signals.emit(second);
      assert.equal(await h.exitCalled, code);
      assert.deepEqual(h.exits, [code]);
      h.shutdown.dispose();
    }
  });

  it('starts on trigger() too, once, and refuses new steps after the start', async () => {
    const h = harness();
    const first = h.shutdown.trigger('fatal: lost leader');
    const second = h.shutdown.trigger('again');
    assert.equal(first, second);
    assert.equal(await first, 0);
    assert.deepEqual(h.exits, [0]);
    assert.equal(h.lines.find((l) => l['msg'] === 'shutting down')?.['reason'], 'fatal: lost leader');
    assert.throws(() => h.shutdown.addStep('late', () => undefined), (e: unknown) => e instanceof ObservabilityError && e.code === 'shutting-down');
    h.shutdown.dispose();
  });

  it('runs no step during the drain delay', async () => {
    const h = harness({ drainDelayMs: 3_600_000 });
    h.shutdown.addStep('first', () => void h.events.push('first'));
    h.signals.emit('SIGTERM');
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(h.events, ['not-ready']);
    h.signals.emit('SIGTERM');
    assert.equal(await h.exitCalled, 143);
    assert.deepEqual(h.events, ['not-ready']);
    h.shutdown.dispose();
  });

  it('installs no signal handlers with signals: null, and removes them on dispose', () => {
    const signals = new EventEmitter();
    const logger = createLogger({ component: 'test', level: 'silent' });
    createShutdown({ logger, signals: null, exit: () => assert.fail('must not exit') });
    const s = createShutdown({ logger, signals, exit: () => assert.fail('must not exit') });
    assert.equal(signals.listenerCount('SIGTERM'), 1);
    assert.equal(signals.listenerCount('SIGINT'), 1);
    s.dispose();
    assert.equal(signals.listenerCount('SIGTERM'), 0);
    assert.equal(signals.listenerCount('SIGINT'), 0);
  });
});
