import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ObservabilityError } from './errors.ts';
import { parseLogLevel } from './logger.ts';
import { createObservability } from './observability.ts';
import type { ObservabilityOptions } from './observability.ts';

const base = (lines: Record<string, unknown>[] = []): ObservabilityOptions => ({
  component: 'controller',
  version: { version: 'v0.1.0' },
  admin: { host: '127.0.0.1', port: 0 },
  shutdown: { handleSignals: false, exit: () => assert.fail('must not exit') },
  runtimeMetrics: false,
  logDestination: { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) },
});

describe('parseLogLevel', () => {
  it('accepts pino levels and OSM names, case-insensitively', () => {
    const table: [string, string][] = [
      ['info', 'info'],
      ['DEBUG', 'debug'],
      [' warn ', 'warn'],
      ['trace', 'trace'],
      ['panic', 'fatal'],
      ['disabled', 'silent'],
      ['error', 'error'],
    ];
    for (const [input, expected] of table) assert.equal(parseLogLevel(input), expected, input);
  });

  it('rejects anything else naming the field and the allowed values', () => {
    assert.throws(
      () => parseLogLevel('verbose', 'observability.osmLogLevel'),
      (e: unknown) =>
        e instanceof ObservabilityError &&
        e.code === 'invalid-argument' &&
        e.message === 'observability.osmLogLevel: "verbose" is not a log level; allowed: trace, debug, info, warn, error, fatal, silent, panic, disabled',
    );
  });
});

describe('createObservability', () => {
  it('rejects bad options with the field named', async () => {
    const cases: [Partial<ObservabilityOptions>, RegExp][] = [
      [{ component: 'Bad Name' }, /^component: "Bad Name" must match/],
      [{ version: { version: '' } }, /^version.version: must not be empty/],
      [{ logLevel: 'loud' }, /^logLevel: "loud" is not a log level/],
      [{ tracing: { otlpEndpoint: 'grpc://collector:4317' } }, /^tracing.otlpEndpoint: protocol "grpc:" is not supported; allowed: http:, https:/],
      [{ tracing: { otlpEndpoint: 'not a url' } }, /^tracing.otlpEndpoint: "not a url" is not a URL/],
      [{ tracing: { otlpEndpoint: 'http://127.0.0.1:4318', sampleRatio: 2 } }, /^tracing.sampleRatio: 2 is out of range; allowed: 0 to 1/],
    ];
    for (const [override, message] of cases) {
      await assert.rejects(createObservability({ ...base(), ...override }), (e: unknown) => e instanceof ObservabilityError && message.test(e.message), message.source);
    }
  });

  it('without an OTLP endpoint gives a tracer that records nothing', async () => {
    const obs = await createObservability(base());
    try {
      assert.equal(obs.tracingEnabled, false);
      const span = obs.tracer.startSpan('recompute');
      assert.equal(span.isRecording(), false);
      span.end();
    } finally {
      await obs.close();
    }
  });

  it('changes the level of existing child loggers with setLogLevel', async () => {
    const lines: Record<string, unknown>[] = [];
    const obs = await createObservability({ ...base(lines), logLevel: 'info' });
    try {
      const proxyLog = obs.logger.child({ proxy: 'uuid-1' }).child({ stream: 1 });
      proxyLog.debug('hidden');
      assert.equal(obs.setLogLevel('debug'), 'debug');
      proxyLog.debug('shown');
      assert.throws(() => obs.setLogLevel('chatty'), /logLevel: "chatty" is not a log level/);
      assert.equal(obs.logger.level, 'debug');
      const messages = lines.filter((l) => l['proxy'] === 'uuid-1').map((l) => l['msg']);
      assert.deepEqual(messages, ['shown']);
      assert.deepEqual(
        lines.find((l) => l['msg'] === 'shown'),
        { ...lines.find((l) => l['msg'] === 'shown'), level: 'debug', component: 'controller', proxy: 'uuid-1', stream: 1 },
      );
    } finally {
      await obs.close();
    }
  });

  it('exports osm_ready as /readyz answers: 0 while starting or shutting down, 1 when every check passes', async () => {
    const obs = await createObservability(base());
    const ready = async (): Promise<string | undefined> => /^osm_ready\{component="controller"\} (\d)$/m.exec(await (await fetch(`${obs.admin.url}/metrics`)).text())?.[1];
    try {
      assert.equal(await ready(), '0', 'no check registered yet');
      let synced = false;
      obs.admin.addReadinessCheck('caches-synced', () => synced);
      assert.equal(await ready(), '0');
      synced = true;
      assert.equal(await ready(), '1');
      obs.admin.setShuttingDown();
      assert.equal(await ready(), '0');
    } finally {
      await obs.close();
    }
  });

  it('close() stops the admin server', async () => {
    const obs = await createObservability(base());
    assert.equal((await fetch(`${obs.admin.url}/livez`)).status, 200);
    await obs.close();
    await assert.rejects(fetch(`${obs.admin.url}/livez`));
  });
});
