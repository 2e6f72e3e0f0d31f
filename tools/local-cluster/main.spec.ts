import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';

const main = fileURLToPath(new URL('./main.ts', import.meta.url));

// The README's main command, run as a user would: it comes up, serves, and stops cleanly on SIGTERM.
it('npm start serves a local API server and stops it on SIGTERM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'osm-local-cluster-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const child = spawn(process.execPath, [main, '--namespace', 'osm-test-system', '--kubeconfig', join(dir, 'kubeconfig')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  let output = '';
  const kubeconfig = await new Promise<string>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      const match = /export KUBECONFIG=(\S+)/.exec(output);
      if (match?.[1] && output.includes('Press Ctrl-C')) resolve(match[1]);
    });
    void exited.then((code) => reject(new Error(`exited with ${code} before ready:\n${output}`)));
  });
  const kc = new KubeConfig();
  kc.loadFromString(readFileSync(kubeconfig, 'utf8'));
  const ns = await kc.makeApiClient(CoreV1Api).readNamespace({ name: 'osm-test-system' });
  assert.equal(ns.metadata?.name, 'osm-test-system');

  child.kill('SIGTERM');
  assert.equal(await exited, 0);
  assert.match(output, /SIGTERM: stopping/);
  assert.equal(existsSync(kubeconfig), false, 'kubeconfig removed on stop');
  await assert.rejects(kc.makeApiClient(CoreV1Api).readNamespace({ name: 'osm-test-system' }), 'the API server is gone');
});
