import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';

const main = fileURLToPath(new URL('./main.ts', import.meta.url));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

// The README's main command, run as a user would: it comes up with the control plane's shared
// state in place (CRDs, MeshConfig, root CA), serves, and stops cleanly on SIGTERM.
it('npm start runs a local control plane and stops it on SIGTERM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'osm-local-cluster-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const adminPort = await freePort();
  const injectorPorts = ['--injector-port', String(await freePort()), '--injector-admin-port', String(await freePort())];
  const child = spawn(process.execPath, [main, '--namespace', 'osm-test-system', '--kubeconfig', join(dir, 'kubeconfig'), '--admin-port', String(adminPort), ...injectorPorts], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
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
  const core = kc.makeApiClient(CoreV1Api);
  const secret = await core.readNamespacedSecret({ name: 'osm-ca-bundle', namespace: 'osm-test-system' });
  assert.ok(secret.data?.['ca.crt'], 'root CA stored');
  const fingerprint = /fingerprint (\S+)\)/.exec(output)?.[1];
  assert.ok(fingerprint && fingerprint !== '(see', `root fingerprint printed:\n${output}`);
  const meshConfig = await kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
    group: 'config.openservicemesh.io', version: 'v1alpha2', namespace: 'osm-test-system', plural: 'meshconfigs', name: 'osm-mesh-config',
  });
  assert.ok(meshConfig, 'default MeshConfig created');
  assert.equal((await fetch(`http://127.0.0.1:${adminPort}/readyz`)).status, 200);

  // The injector (issue 9): a pod created in a meshed namespace comes back with the sidecar.
  await core.createNamespace({ body: { metadata: { name: 'demo', labels: { 'openservicemesh.io/monitored-by': 'osm' }, annotations: { 'openservicemesh.io/sidecar-injection': 'enabled' } } } });
  const pod = await core.createNamespacedPod({ namespace: 'demo', body: { metadata: { name: 'web' }, spec: { containers: [{ name: 'web', image: 'nginx' }] } } });
  assert.deepEqual(pod.spec?.containers.map((c) => c.name), ['web', 'envoy']);
  assert.deepEqual(pod.spec?.initContainers?.map((c) => c.name), ['osm-init']);

  child.kill('SIGTERM');
  assert.equal(await exited, 0);
  assert.match(output, /SIGTERM: stopping/);
  assert.equal(existsSync(kubeconfig), false, 'kubeconfig removed on stop');
  await assert.rejects(core.readNamespace({ name: 'osm-test-system' }), 'the API server is gone');
  await assert.rejects(fetch(`http://127.0.0.1:${adminPort}/livez`), 'ca-bootstrap is gone');
});
