import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BACKOFF_MAX_MS, backoffMs, retryUntilDone } from './retry.ts';

describe('backoffMs', () => {
  it('doubles from 200 ms and stays within 5 s (±20 % jitter)', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 50].map((a) => backoffMs(a, () => 0.5)), [200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
    for (let attempt = 1; attempt <= 100; attempt++) assert.ok(backoffMs(attempt, () => 0.999) <= BACKOFF_MAX_MS * 1.2, `attempt ${attempt}`);
    assert.equal(backoffMs(1, () => 0), 160);
  });
});

describe('retryUntilDone', () => {
  const recorder = (): { lines: [string, Record<string, unknown>, string][]; logger: { debug: (f: object, m: string) => void; warn: (f: object, m: string) => void } } => {
    const lines: [string, Record<string, unknown>, string][] = [];
    return {
      lines,
      logger: {
        debug: (f, m) => void lines.push(['debug', f as Record<string, unknown>, m]),
        warn: (f, m) => void lines.push(['warn', f as Record<string, unknown>, m]),
      },
    };
  };

  it('retries failures (debug three times, then warn, with the status code) and undefined (silently) until a value comes', async () => {
    const { lines, logger } = recorder();
    const answers: (() => string | undefined)[] = [
      () => { throw Object.assign(new Error('unavailable'), { code: 503 }); },
      () => undefined,
      () => { throw new Error('reset'); },
      () => { throw new Error('reset'); },
      () => 'done',
    ];
    let calls = 0;
    // random() = 0 makes each wait 80 % of the base: 160, 320, 640, 1280 ms in all before the fifth call.
    const value = await retryUntilDone('applying', logger, new AbortController().signal, async () => (answers[calls++] as () => string | undefined)(), () => 0);
    assert.equal(value, 'done');
    assert.equal(calls, 5);
    assert.deepEqual(lines.map(([level, f, m]) => [level, f['attempt'], f['code'], f['retryInMs'], m]), [
      ['debug', 1, 503, 160, 'applying failed; retrying'],
      ['debug', 3, undefined, 640, 'applying failed; retrying'],
      ['warn', 4, undefined, 1280, 'applying failed; retrying'],
    ]);
  });

  it('stops when the signal aborts, without another call', async () => {
    const { logger } = recorder();
    const abort = new AbortController();
    let calls = 0;
    const pending = retryUntilDone('loading', logger, abort.signal, async () => {
      calls++;
      // Aborted while it waits to retry.
      setImmediate(() => abort.abort());
      throw new Error('down');
    });
    await assert.rejects(pending, { name: 'AbortError' });
    assert.equal(calls, 1);
  });
});
