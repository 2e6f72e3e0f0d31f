// The lib as an app uses it: test/fixture-app.ts runs as a real child process and is checked
// from outside, over its admin port, its stdout and its exit code.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { PromFamily } from 'parse-prometheus-text-format';
import { startOtlpReceiver } from '@osm/testing';
import { get, killFixtures, pollUntil, scrape, startFixture } from './helpers.ts';
import type { Fixture } from './helpers.ts';

after(killFixtures);

const family = (families: PromFamily[], name: string): PromFamily => {
  const found = families.find((f) => f.name === name);
  assert.ok(found, `metric family ${name} not found among ${families.map((f) => f.name).join(', ')}`);
  return found;
};

describe('fixture app: admin endpoints, metrics, readiness, SIGTERM', { timeout: 60_000 }, () => {
  let app: Fixture;
  before(async () => {
    app = await startFixture();
  });

  it('answers /livez and /health/alive with 200 ok', async () => {
    for (const path of ['/livez', '/health/alive']) {
      const res = await get(`${app.url}${path}`);
      assert.equal(res.status, 200, path);
      assert.equal(res.body, 'ok\n', path);
    }
  });

  it('answers /readyz and /health/ready with 200 and every registered check', async () => {
    for (const path of ['/readyz', '/health/ready']) {
      const res = await get(`${app.url}${path}`);
      assert.equal(res.status, 200, path);
      assert.match(res.contentType, /^application\/json/);
      assert.deepEqual(JSON.parse(res.body), {
        status: 'ready',
        checks: [
          { name: 'caches-synced', ok: true },
          { name: 'root-ca', ok: true },
        ],
      });
    }
  });

  it('answers /version with version, git commit and build date', async () => {
    const res = await get(`${app.url}/version`);
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body), { component: 'fixture', version: '1.2.3', gitCommit: 'abc1234', buildDate: '2026-11-26T00:00:00Z' });
  });

  it('answers unknown paths with 404 and other methods with 405', async () => {
    assert.equal((await get(`${app.url}/nope`)).status, 404);
    const res = await fetch(`${app.url}/readyz`, { method: 'POST' });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET, HEAD');
  });

  it('serves /metrics in Prometheus text format with osm_version_info and runtime metrics', async () => {
    const res = await get(`${app.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.contentType, /^text\/plain; version=0\.0\.4/);
    const families = await scrape(app.url);
    const version = family(families, 'osm_version_info');
    assert.equal(version.type, 'GAUGE');
    assert.deepEqual(version.metrics, [{ value: '1', labels: { version: '1.2.3', build_date: '2026-11-26T00:00:00Z', git_commit: 'abc1234' } }]);
    for (const name of ['process_resident_memory_bytes', 'process_start_time_seconds', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_delay_p99_seconds', 'nodejs_active_resources']) {
      const f = family(families, name);
      assert.equal(f.type, 'GAUGE', name);
      assert.ok(f.metrics.every((m) => Number.isFinite(Number(m.value))), name);
    }
    assert.equal(family(families, 'process_cpu_user_seconds_total').type, 'COUNTER');
    assert.ok(Number(family(families, 'process_resident_memory_bytes').metrics[0]?.value) > 1_000_000);
  });

  it('exports metrics recorded in the app with their labels', async () => {
    await app.command({ op: 'record' });
    const families = await scrape(app.url);

    // OSM's counter names are kept as declared: no `_total` appended.
    assert.equal(families.find((f) => f.name === 'osm_fixture_event_count_total'), undefined);
    const events = family(families, 'osm_fixture_event_count');
    assert.equal(events.type, 'COUNTER');
    assert.equal(events.help, 'Events handled by the fixture');
    assert.deepEqual(
      events.metrics.map((m) => ({ labels: m.labels, value: m.value })).sort((a, b) => String(a.labels?.['outcome']).localeCompare(String(b.labels?.['outcome']))),
      [
        { labels: { kind: 'proxy', outcome: 'error' }, value: '5' },
        { labels: { kind: 'proxy', outcome: 'ok' }, value: '2' },
      ],
    );

    // parse-prometheus-text-format folds the label sets of a histogram into one series and drops
    // their _count and _sum (a limit of that parser): here the family and its bucket bounds; the
    // per-label series are checked on the SDK's data in metrics.spec.ts.
    const updates = family(families, 'osm_fixture_config_update_time');
    assert.equal(updates.type, 'HISTOGRAM');
    assert.equal(updates.help, 'Config update time in seconds');
    // Default duration buckets, 1 ms to 30 s.
    const bound = (le: string): number => (le === '+Inf' ? Infinity : Number(le));
    assert.deepEqual(Object.keys(updates.metrics[0]?.buckets ?? {}).sort((a, b) => bound(a) - bound(b)), ['0.001', '0.0025', '0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '30', '+Inf']);

    const connected = family(families, 'osm_fixture_connected');
    assert.equal(connected.type, 'GAUGE');
    assert.equal(connected.metrics[0]?.value, '2');
  });

  it('answers /readyz with 503 naming the failing check, and 200 again once it passes', async () => {
    await app.command({ op: 'ready', ok: false });
    for (const path of ['/readyz', '/health/ready']) {
      const res = await get(`${app.url}${path}`);
      assert.equal(res.status, 503, path);
      const body = JSON.parse(res.body) as { status: string; failing: string[]; checks: unknown[] };
      assert.equal(body.status, 'not ready');
      assert.deepEqual(body.failing, ['caches-synced']);
      assert.deepEqual(body.checks, [
        { name: 'caches-synced', ok: false, message: 'informer caches not synced' },
        { name: 'root-ca', ok: true },
      ]);
    }
    assert.equal((await get(`${app.url}/livez`)).status, 200);
    await app.command({ op: 'ready', ok: true });
    assert.equal((await get(`${app.url}/readyz`)).status, 200);
  });

  it('on SIGTERM turns not ready, runs the steps in order, then exits 0 within the deadline', async () => {
    app.child.kill('SIGTERM');
    const notReady = await pollUntil(`${app.url}/readyz`, (res) => res.status === 503);
    const body = JSON.parse(notReady.body) as { failing: string[]; checks: { name: string; ok: boolean; message?: string }[] };
    assert.deepEqual(body.failing, ['shutdown']);
    assert.deepEqual(body.checks[0], { name: 'shutdown', ok: false, message: 'shutting down' });
    // Still alive while draining: the kubelet must not restart it.
    assert.equal((await get(`${app.url}/livez`)).status, 200);

    app.post({ op: 'continue' });
    const exit = await app.exited;
    assert.deepEqual(exit, { code: 0, signal: null });

    const steps = app.logs.filter((l) => l.msg === 'shutdown step done').map((l) => l['step']);
    assert.deepEqual(steps, ['wait-for-test', 'stop-work', 'flush-traces', 'stop-metrics', 'close-admin-server']);
    const begin = app.logs.findIndex((l) => l.msg === 'shutting down');
    assert.equal(app.logs[begin]?.['reason'], 'SIGTERM');
    assert.ok(app.logs.some((l) => l.msg === 'shutdown complete'));
    assert.ok(!app.logs.some((l) => l.msg === 'shutdown deadline exceeded; exiting'));
    assert.ok(begin < app.logs.findIndex((l) => l.msg === 'work stopped'));
  });
});

describe('fixture app: shutdown deadline and second signal', { timeout: 60_000 }, () => {
  it('exits 1 naming the step when the steps outlive the deadline', async () => {
    const app = await startFixture({ FIXTURE_HANG_STEP: '1', FIXTURE_DEADLINE_MS: '300' });
    app.child.kill('SIGTERM');
    const exit = await app.exited;
    assert.deepEqual(exit, { code: 1, signal: null });
    const exceeded = app.logs.find((l) => l.msg === 'shutdown deadline exceeded; exiting');
    assert.equal(exceeded?.['step'], 'hang');
    assert.ok(!app.logs.some((l) => l.msg === 'shutdown step done' || l.msg === 'shutdown complete'));
  });

  it('exits at once on a second signal', async () => {
    // A deadline far beyond this test's timeout: only the second signal can end the process in time.
    const app = await startFixture({ FIXTURE_HANG_STEP: '1', FIXTURE_DEADLINE_MS: '600000' });
    app.child.kill('SIGTERM');
    await app.waitForLog((l) => l.msg === 'shutting down');
    app.child.kill('SIGINT');
    const exit = await app.exited;
    assert.deepEqual(exit, { code: 130, signal: null });
    assert.equal(app.logs.find((l) => l.msg === 'second signal during shutdown; exiting now')?.['signal'], 'SIGINT');
    assert.ok(!app.logs.some((l) => l.msg === 'shutdown step done'));
  });
});

describe('fixture app: uncaught errors', { timeout: 60_000 }, () => {
  for (const [op, message] of [
    ['crash', 'fixture bug'],
    ['reject', 'fixture forgot a catch'],
  ] as const) {
    it(`logs one fatal JSON line and exits 1 on an uncaught ${op === 'crash' ? 'exception' : 'rejection'}`, async () => {
      const app = await startFixture();
      app.post({ op });
      assert.deepEqual(await app.exited, { code: 1, signal: null });
      const fatal = app.logs.find((l) => l.level === 'fatal');
      assert.equal(fatal?.msg, 'uncaught error; exiting');
      assert.equal((fatal?.['err'] as { message?: string } | undefined)?.message, message);
      assert.equal(fatal?.['origin'], op === 'crash' ? 'uncaughtException' : 'unhandledRejection');
      assert.ok(app.logs.every((l) => l['notJson'] !== true));
    });
  }
});

describe('fixture app: traces over OTLP', { timeout: 60_000 }, () => {
  it('exports spans with their names, attributes and parents, and puts trace ids in log lines', async () => {
    const receiver = await startOtlpReceiver();
    try {
      const app = await startFixture({ FIXTURE_OTLP_ENDPOINT: receiver.endpoint });
      await app.command({ op: 'work' });
      // The batch is flushed by the shutdown.
      app.child.kill('SIGTERM');
      await app.waitForLog((l) => l.msg === 'shutting down');
      app.post({ op: 'continue' });
      assert.deepEqual(await app.exited, { code: 0, signal: null });

      const spans = await receiver.waitForSpans(2);
      assert.ok(receiver.paths.every((p) => p.startsWith('POST /v1/traces application/json')), receiver.paths.join('; '));
      const recompute = spans.find((s) => s.name === 'fixture.recompute');
      const push = spans.find((s) => s.name === 'fixture.push');
      assert.ok(recompute && push, `spans: ${spans.map((s) => s.name).join(', ')}`);
      assert.deepEqual(recompute.attributes, { 'osm.proxy.count': 3, 'osm.trigger': 'endpoint-change' });
      assert.deepEqual(push.attributes, { 'osm.proxy.uuid': 'uuid-1', 'osm.xds.type': 'CDS' });
      assert.equal(push.traceId, recompute.traceId);
      assert.equal(push.parentSpanId, recompute.spanId);
      assert.equal(recompute.resource['service.name'], 'osm-fixture');
      assert.equal(recompute.resource['service.version'], '1.2.3');
      assert.equal(recompute.scope, 'osm-fixture');

      const recomputing = app.logs.find((l) => l.msg === 'recomputing');
      const pushing = app.logs.find((l) => l.msg === 'pushing');
      assert.equal(recomputing?.['trace_id'], recompute.traceId);
      assert.equal(recomputing?.['span_id'], recompute.spanId);
      assert.equal(pushing?.['trace_id'], push.traceId);
      assert.equal(pushing?.['span_id'], push.spanId);
    } finally {
      await receiver.close();
    }
  });

  it('exits 0 within the deadline when the collector never answers, dropping the last spans', async () => {
    // Accepts connections and never answers.
    const blackHole = createServer(() => undefined);
    blackHole.listen(0, '127.0.0.1');
    await once(blackHole, 'listening');
    try {
      const { port } = blackHole.address() as AddressInfo;
      const app = await startFixture({ FIXTURE_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, FIXTURE_FLUSH_TIMEOUT_MS: '200', FIXTURE_DEADLINE_MS: '600000' });
      await app.command({ op: 'work' });
      app.child.kill('SIGTERM');
      await app.waitForLog((l) => l.msg === 'shutting down');
      app.post({ op: 'continue' });
      assert.deepEqual(await app.exited, { code: 0, signal: null });
      assert.ok(app.logs.some((l) => l.msg === 'trace collector did not take the last spans; dropped them'));
      assert.ok(app.logs.some((l) => l.msg === 'shutdown step done' && l['step'] === 'close-admin-server'));
    } finally {
      blackHole.closeAllConnections();
      blackHole.close();
    }
  });

  it('without an endpoint traces nothing: no trace ids in log lines', async () => {
    const app = await startFixture();
    await app.command({ op: 'work' });
    app.child.kill('SIGTERM');
    await app.waitForLog((l) => l.msg === 'shutting down');
    app.post({ op: 'continue' });
    assert.deepEqual(await app.exited, { code: 0, signal: null });
    const recomputing = app.logs.find((l) => l.msg === 'recomputing');
    assert.ok(recomputing);
    assert.equal(recomputing['trace_id'], undefined);
  });
});
