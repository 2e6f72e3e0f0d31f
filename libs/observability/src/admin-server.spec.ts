import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAdminServer } from './admin-server.ts';
import type { AdminServer } from './admin-server.ts';
import { ObservabilityError } from './errors.ts';
import { createLogger } from './logger.ts';

const logger = createLogger({ component: 'test', level: 'silent' });
const version = { component: 'test', version: '0.0.1', gitCommit: 'c0ffee', buildDate: '2026-11-26' };

async function readyz(admin: AdminServer): Promise<{ status: number; body: { status: string; failing?: string[]; checks: unknown[] } }> {
  const res = await fetch(`${admin.url}/readyz`);
  return { status: res.status, body: (await res.json()) as { status: string; failing?: string[]; checks: unknown[] } };
}

describe('admin server', () => {
  let admin: AdminServer;
  let metricsText = '# no registered metrics';
  let metricsFail = false;
  before(async () => {
    admin = await startAdminServer({
      host: '127.0.0.1',
      port: 0,
      checkTimeoutMs: 100,
      version,
      logger,
      metrics: () => (metricsFail ? Promise.reject(new Error('collection failed')) : Promise.resolve(metricsText)),
    });
  });
  after(() => admin.close());

  it('is not ready before the first check is registered', async () => {
    assert.deepEqual(await readyz(admin), {
      status: 503,
      body: { status: 'not ready', failing: ['startup'], checks: [{ name: 'startup', ok: false, message: 'no readiness check registered yet' }] },
    });
  });

  it('reports a check that throws, one that hangs, and one that says why, each by name', async () => {
    const removers = [
      admin.addReadinessCheck('throws', () => {
        throw new Error('informer stopped');
      }),
      admin.addReadinessCheck('hangs', () => new Promise<boolean>(() => undefined)),
      admin.addReadinessCheck('explains', () => Promise.resolve({ ok: false, message: 'root CA not loaded' })),
      admin.addReadinessCheck('fine', () => true),
    ];
    const res = await readyz(admin);
    assert.equal(res.status, 503);
    assert.deepEqual(res.body, {
      status: 'not ready',
      failing: ['throws', 'hangs', 'explains'],
      checks: [
        { name: 'throws', ok: false, message: 'informer stopped' },
        { name: 'hangs', ok: false, message: 'timed out after 100 ms' },
        { name: 'explains', ok: false, message: 'root CA not loaded' },
        { name: 'fine', ok: true },
      ],
    });
    for (const remove of removers.slice(0, 3)) remove();
    assert.deepEqual(await readyz(admin), { status: 200, body: { status: 'ready', checks: [{ name: 'fine', ok: true }] } });
    removers[3]?.();
    assert.equal((await readyz(admin)).status, 503);
  });

  it('rejects bad and duplicate check names', () => {
    const remove = admin.addReadinessCheck('caches', () => true);
    assert.throws(() => admin.addReadinessCheck('caches', () => true), (e: unknown) => e instanceof ObservabilityError && e.code === 'already-exists');
    assert.throws(() => admin.addReadinessCheck('shutdown', () => true), (e: unknown) => e instanceof ObservabilityError && e.code === 'already-exists');
    assert.throws(() => admin.addReadinessCheck('startup', () => true), (e: unknown) => e instanceof ObservabilityError && e.code === 'already-exists');
    assert.throws(() => admin.addReadinessCheck('has space', () => true), /readiness check name: "has space" must match/);
    remove();
  });

  it('serves the metrics text with the Prometheus content type, and 500 when collection fails', async () => {
    metricsText = '# HELP x y\n# TYPE x gauge\nx 1\n';
    const ok = await fetch(`${admin.url}/metrics`);
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(await ok.text(), metricsText);
    metricsFail = true;
    const failed = await fetch(`${admin.url}/metrics`);
    assert.equal(failed.status, 500);
    metricsFail = false;
  });

  it('answers HEAD without a body, ignores query strings', async () => {
    const head = await fetch(`${admin.url}/livez`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
    assert.equal((await fetch(`${admin.url}/version?pretty=1`)).status, 200);
  });

  it("serves an app's JSON routes with their query, and refuses a taken path", async () => {
    admin.addJsonRoute('/debug/echo', (query) => (query.has('missing') ? { status: 404, body: { error: 'no such thing' } } : { status: 200, body: { pod: query.get('pod') } }));
    const ok = await fetch(`${admin.url}/debug/echo?pod=shop/web-1`);
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { pod: 'shop/web-1' });
    assert.equal((await fetch(`${admin.url}/debug/echo?missing`)).status, 404);
    assert.equal((await fetch(`${admin.url}/debug/echo`, { method: 'POST' })).status, 405);
    assert.deepEqual(((await (await fetch(`${admin.url}/nope`)).json()) as { paths: string[] }).paths.slice(-1), ['/debug/echo']);
    assert.throws(() => admin.addJsonRoute('/metrics', () => ({ status: 200, body: {} })), ObservabilityError);
    assert.throws(() => admin.addJsonRoute('/debug/echo', () => ({ status: 200, body: {} })), ObservabilityError);
  });

  it('fails readiness once shutting down but stays alive', async () => {
    admin.addReadinessCheck('caches', () => true);
    assert.equal((await readyz(admin)).status, 200);
    admin.setShuttingDown();
    const res = await readyz(admin);
    assert.equal(res.status, 503);
    assert.deepEqual(res.body.failing, ['shutdown']);
    assert.equal((await fetch(`${admin.url}/health/alive`)).status, 200);
  });
});

describe('admin server start-up', () => {
  it('names the port when it cannot listen', async () => {
    const first = await startAdminServer({ host: '127.0.0.1', port: 0, version, logger, metrics: () => Promise.resolve('') });
    try {
      await assert.rejects(
        startAdminServer({ host: '127.0.0.1', port: first.port, version, logger, metrics: () => Promise.resolve('') }),
        (e: unknown) => e instanceof ObservabilityError && e.message.startsWith(`admin.port: cannot listen on 127.0.0.1:${first.port}`),
      );
    } finally {
      await first.close();
    }
  });

  it('rejects a port out of range', async () => {
    await assert.rejects(startAdminServer({ port: 70000, version, logger, metrics: () => Promise.resolve('') }), /admin.port: 70000 is not a port; allowed: 0 to 65535/);
  });
});
