import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CertificateError, type LoadedRoot, type Result, type RootCAProvider } from '@osm/certificates';
import { createLogger } from '@osm/observability';
import { loadRootCA, RECHECK_MS } from './root-ca.ts';

const root = { authority: {}, secret: { namespace: 'osm-system', name: 'osm-ca-bundle' }, created: true, outcome: 'created' } as unknown as LoadedRoot;
const ready: Result<LoadedRoot> = { ok: true, value: root };
const fail = (code: CertificateError['code'], message: string): Result<LoadedRoot> => ({ ok: false, error: new CertificateError(code, message) });

/** A provider that plays back a script: a result, or an Error to throw (an API failure). */
function scripted(kind: RootCAProvider['kind'], steps: (Result<LoadedRoot> | Error)[]): RootCAProvider & { loads: number } {
  const provider = {
    kind,
    loads: 0,
    async load(): Promise<Result<LoadedRoot>> {
      const step = steps[Math.min(provider.loads++, steps.length - 1)];
      if (!step) throw new Error('empty script');
      if (step instanceof Error) throw step;
      return step;
    },
  };
  return provider;
}

function run(provider: RootCAProvider, signal = new AbortController().signal) {
  const lines: { level: string; msg: string }[] = [];
  const logger = createLogger({ component: 'test', level: 'debug', destination: { write: (line: string) => void lines.push(JSON.parse(line) as { level: string; msg: string }) } });
  const sleeps: number[] = [];
  const states: [string, string][] = [];
  const done = loadRootCA(provider, 'osm-system/osm-ca-bundle', {
    logger,
    signal,
    onState: (phase, reason) => states.push([phase, reason]),
    sleep: async (ms) => void sleeps.push(ms),
    random: () => 0.5,
  });
  return { done, lines, sleeps, states };
}

describe('loadRootCA', () => {
  it('retries API failures and a Tresor Secret that was not read back, with bounded backoff, then is ready', async () => {
    const readBack = fail('NotFound', 'Secret osm-system/osm-ca-bundle was created but could not be read back');
    const provider = scripted('tresor', [new Error('HTTP 500'), readBack, readBack, new Error('HTTP 503'), readBack, readBack, readBack, ready]);
    const { done, sleeps, states, lines } = run(provider);
    assert.equal(await done, root);
    assert.equal(provider.loads, 8);
    assert.deepEqual(sleeps, [200, 400, 800, 1600, 3200, 5000, 5000]);
    assert.ok(states.every(([phase]) => phase === 'root-ca'), 'still trying, never reported as a bad Secret');
    assert.match(states[1]?.[1] ?? '', /could not be read back \(attempt 2\); retrying/);
    assert.equal(lines.filter((l) => l.level === 'error').length, 0);
    assert.ok(lines.some((l) => l.level === 'warn' && /root CA Secret not read back yet/.test(l.msg)), 'persisting read-back failures are warned about');
  });

  it('a bad CA Secret: reported once per reason, checked again every RECHECK_MS, ready once fixed', async () => {
    const garbage = fail('InvalidCertificate', 'Secret osm-system/osm-ca-bundle: the CA certificate is not PEM');
    const mismatch = fail('KeyMismatch', 'Secret osm-system/osm-ca-bundle: the CA private key does not match');
    const provider = scripted('tresor', [garbage, garbage, garbage, mismatch, mismatch, ready]);
    const { done, sleeps, states, lines } = run(provider);
    assert.equal(await done, root);
    assert.deepEqual(sleeps, Array.from({ length: 5 }, () => RECHECK_MS));
    assert.deepEqual(
      states.map(([phase]) => phase),
      ['failed', 'failed', 'failed', 'failed', 'failed'],
    );
    const errors = lines.filter((l) => l.level === 'error').map((l) => l.msg);
    assert.equal(errors.length, 2, errors.join('\n'));
    assert.match(errors[0] ?? '', /^root CA not loaded: Secret osm-system\/osm-ca-bundle: the CA certificate is not PEM; staying not ready, leaving the Secret unchanged and checking it again every 5 s$/);
    assert.match(errors[1] ?? '', /does not match/);
  });

  it('a missing bring-your-own Secret is the user\'s to create: reported, checked again, not retried as transient', async () => {
    const provider = scripted('bring-your-own', [fail('NotFound', 'Secret osm-system/my-ca not found'), ready]);
    const { done, sleeps, states } = run(provider);
    assert.equal(await done, root);
    assert.deepEqual(sleeps, [RECHECK_MS]);
    assert.deepEqual(states[0]?.[0], 'failed');
  });

  it('stops when aborted', async () => {
    const controller = new AbortController();
    const provider = scripted('tresor', [fail('InvalidCertificate', 'bad')]);
    const lines: unknown[] = [];
    const done = loadRootCA(provider, 'x/y', {
      logger: createLogger({ component: 'test', level: 'silent', destination: { write: (l: string) => void lines.push(l) } }),
      signal: controller.signal,
      onState: () => undefined,
      sleep: async () => controller.abort(),
    });
    await assert.rejects(done, { name: 'AbortError' });
    assert.equal(provider.loads, 1);
  });
});
