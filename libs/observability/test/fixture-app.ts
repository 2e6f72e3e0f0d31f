// A small app that uses @osm/observability the way the components will, driven by its parent test
// over the IPC channel. Environment: FIXTURE_OTLP_ENDPOINT (tracing), FIXTURE_DEADLINE_MS,
// FIXTURE_HANG_STEP=1 (a first shutdown step that never finishes), FIXTURE_FLUSH_TIMEOUT_MS.
import { createObservability, withSpan } from '../src/index.ts';

export type FixtureCommand =
  | { op: 'record' }
  | { op: 'ready'; ok: boolean }
  | { op: 'work' }
  | { op: 'continue' }
  | { op: 'crash' }
  | { op: 'reject' };

export type FixtureReply = { op: 'listening'; url: string } | { op: 'done'; command: string };

if (process.send === undefined) throw new Error('fixture-app must be spawned with an IPC channel');
const send = (message: FixtureReply): void => {
  process.send?.(message);
};

const obs = await createObservability({
  component: 'fixture',
  version: { version: '1.2.3', gitCommit: 'abc1234', buildDate: '2026-11-26T00:00:00Z' },
  logLevel: 'debug',
  instanceId: 'fixture-0',
  admin: { host: '127.0.0.1', port: 0 },
  tracing: { otlpEndpoint: process.env['FIXTURE_OTLP_ENDPOINT'] ?? '', flushTimeoutMs: Number(process.env['FIXTURE_FLUSH_TIMEOUT_MS'] ?? 5000) },
  shutdown: { deadlineMs: Number(process.env['FIXTURE_DEADLINE_MS'] ?? 20_000) },
});
const log = obs.logger.child({ proxy: 'fixture-proxy' });

const events = obs.metrics.counter('osm_fixture_event_count', { help: 'Events handled by the fixture', labels: ['kind', 'outcome'] });
const updateTime = obs.metrics.histogram('osm_fixture_config_update_time', { help: 'Config update time in seconds', labels: ['type'] });
const connected = obs.metrics.upDownCounter('osm_fixture_connected', { help: 'Connected fixture proxies' });

let synced = true;
obs.admin.addReadinessCheck('caches-synced', () => (synced ? true : { ok: false, message: 'informer caches not synced' }));
obs.admin.addReadinessCheck('root-ca', () => true);

let releaseShutdown: () => void = () => undefined;
const testSaysContinue = new Promise<void>((resolve) => {
  releaseShutdown = resolve;
});
if (process.env['FIXTURE_HANG_STEP'] === '1') obs.shutdown.addStep('hang', () => new Promise<void>(() => undefined));
obs.shutdown.addStep('wait-for-test', () => testSaysContinue);
obs.shutdown.addStep('stop-work', () => {
  log.info('work stopped');
});

process.on('message', (message: FixtureCommand) => {
  void handle(message).then(() => send({ op: 'done', command: message.op }));
});

async function handle(command: FixtureCommand): Promise<void> {
  switch (command.op) {
    case 'record':
      events.inc({ kind: 'proxy', outcome: 'ok' });
      events.inc({ kind: 'proxy', outcome: 'ok' });
      events.add(5, { kind: 'proxy', outcome: 'error' });
      updateTime.record(0.003, { type: 'CDS' });
      updateTime.record(0.2, { type: 'CDS' });
      updateTime.record(12, { type: 'LDS' });
      connected.add(3);
      connected.add(-1);
      return;
    case 'ready':
      synced = command.ok;
      return;
    case 'work':
      await withSpan(obs.tracer, 'fixture.recompute', { 'osm.proxy.count': 3, 'osm.trigger': 'endpoint-change' }, async () => {
        log.info('recomputing');
        await withSpan(obs.tracer, 'fixture.push', { 'osm.proxy.uuid': 'uuid-1', 'osm.xds.type': 'CDS' }, () => {
          log.info('pushing');
        });
      });
      return;
    case 'continue':
      releaseShutdown();
      return;
    case 'crash':
      setImmediate(() => {
        throw new Error('fixture bug');
      });
      return;
    case 'reject':
      void Promise.reject(new Error('fixture forgot a catch'));
      return;
  }
}

send({ op: 'listening', url: obs.admin.url });
