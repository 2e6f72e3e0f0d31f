import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, CustomObjectsApi, AuthorizationV1Api } from '@kubernetes/client-node';
import { loadCrds, startKubeApiServer, type KubeApiServer } from '../src/index.ts';
import { processStartTime } from '../src/reaper.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the real kube-apiserver harness', () => {
  let api: KubeApiServer;
  before(async () => {
    const started = Date.now();
    api = await startKubeApiServer();
    console.log(`kube-apiserver with etcd and CRDs up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
  after(() => api?.stop());

  it('creates a namespace and a MeshConfig and reads both back', async () => {
    const core = api.kubeConfig.makeApiClient(CoreV1Api);
    const custom = api.kubeConfig.makeApiClient(CustomObjectsApi);
    await core.createNamespace({ body: { metadata: { name: 'osm-system', labels: { team: 'mesh' } } } });
    const ns = await core.readNamespace({ name: 'osm-system' });
    assert.equal(ns.metadata?.labels?.['team'], 'mesh');

    const group = 'config.openservicemesh.io';
    const version = 'v1alpha2';
    await custom.createNamespacedCustomObject({
      group, version, namespace: 'osm-system', plural: 'meshconfigs',
      body: {
        apiVersion: `${group}/${version}`, kind: 'MeshConfig', metadata: { name: 'osm-mesh-config' },
        spec: { traffic: { enablePermissiveTrafficPolicyMode: true }, certificate: { serviceCertValidityDuration: '24h' } },
      },
    });
    const read = (await custom.getNamespacedCustomObject({ group, version, namespace: 'osm-system', plural: 'meshconfigs', name: 'osm-mesh-config' })) as {
      spec: { traffic: { enablePermissiveTrafficPolicyMode: boolean }; certificate: { serviceCertValidityDuration: string } };
    };
    assert.equal(read.spec.traffic.enablePermissiveTrafficPolicyMode, true);
    assert.equal(read.spec.certificate.serviceCertValidityDuration, '24h');
  });

  it('validates MeshConfig against the CRD schema', async () => {
    const custom = api.kubeConfig.makeApiClient(CustomObjectsApi);
    await assert.rejects(
      custom.createNamespacedCustomObject({
        group: 'config.openservicemesh.io', version: 'v1alpha2', namespace: 'default', plural: 'meshconfigs',
        body: { apiVersion: 'config.openservicemesh.io/v1alpha2', kind: 'MeshConfig', metadata: { name: 'bad' }, spec: { traffic: { enablePermissiveTrafficPolicyMode: 'yes' } } },
      }),
      (err: { code?: number }) => err.code === 422,
    );
  });

  it('keeps x-kubernetes-preserve-unknown-fields: unknown featureFlags survive', async () => {
    const custom = api.kubeConfig.makeApiClient(CustomObjectsApi);
    await api.kubeConfig.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: 'flags' } } });
    const target = { group: 'config.openservicemesh.io', version: 'v1alpha2', namespace: 'flags', plural: 'meshconfigs' };
    await custom.createNamespacedCustomObject({
      ...target,
      body: { apiVersion: 'config.openservicemesh.io/v1alpha2', kind: 'MeshConfig', metadata: { name: 'flags' }, spec: { featureFlags: { enableSomethingNew: true } } },
    });
    const read = (await custom.getNamespacedCustomObject({ ...target, name: 'flags' })) as { spec: { featureFlags?: Record<string, unknown> } };
    assert.deepEqual(read.spec.featureFlags, { enableSomethingNew: true });
  });

  it('installs every CRD in deploy/crds', async () => {
    const custom = api.kubeConfig.makeApiClient(CustomObjectsApi);
    for (const crd of loadCrds()) {
      const version = crd.spec.versions[0]?.name ?? '';
      const list = (await custom.listNamespacedCustomObject({ group: crd.spec.group, version, namespace: 'default', plural: crd.spec.names.plural })) as { items: unknown[] };
      assert.deepEqual(list.items, [], `${crd.metadata?.name} is served`);
    }
  });

  it('authorizes with RBAC: a plain service account may not list secrets', async () => {
    const authz = api.kubeConfig.makeApiClient(AuthorizationV1Api);
    const review = await authz.createSubjectAccessReview({
      body: { spec: { user: 'system:serviceaccount:default:nobody', resourceAttributes: { verb: 'list', resource: 'secrets', namespace: 'default' } } },
    });
    assert.equal(review.status?.allowed, false);
  });

  it('restarts kube-apiserver and etcd in place, keeping the data', async () => {
    const core = api.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'survives-restarts' } } });
    const [etcdPid, apiPid] = api.pids();
    await api.stopApiServer('SIGKILL');
    await assert.rejects(core.readNamespace({ name: 'survives-restarts' }));
    await api.startApiServer();
    await api.stopEtcd();
    await api.startEtcd();
    assert.notDeepEqual(api.pids(), [etcdPid, apiPid]);
    const ns = await core.readNamespace({ name: 'survives-restarts' });
    assert.equal(ns.metadata?.name, 'survives-restarts');
  });

  it('stops everything it started, leaving no process and no files', async () => {
    const pids = api.pids();
    assert.equal(pids.length, 2, 'etcd and kube-apiserver are running');
    assert.ok(pids.every(alive));
    const dir = api.kubeconfigPath.replace(/\/kubeconfig$/, '');
    await api.stop();
    assert.deepEqual(pids.filter(alive), [], 'no process left behind');
    assert.equal(existsSync(dir), false);
    assert.deepEqual(api.pids(), []);
  });
});

describe('a test process SIGKILLed while its kube-apiserver runs', () => {
  it('leaves etcd and kube-apiserver running; the next start reaps them and their folder', async () => {
    const owner = spawn(process.execPath, [fileURLToPath(new URL('./owners/api-server-owner.ts', import.meta.url))], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<void>((resolve) => owner.once('exit', () => resolve()));
    const report = await new Promise<string>((resolve, reject) => {
      let out = '';
      owner.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
        if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')));
      });
      void exited.then(() => reject(new Error('the owner process exited before its API server was up')));
    });
    const { pids, dir } = JSON.parse(report) as { pids: number[]; dir: string };
    assert.equal(pids.length, 2);
    owner.kill('SIGKILL');
    await exited;
    // Running, not a zombie waiting for a parent that is gone.
    const running = (pid: number): boolean => processStartTime(pid) !== undefined;
    assert.deepEqual(pids.filter(running), pids, 'no exit hook ran: etcd and kube-apiserver outlive their test process');
    assert.ok(existsSync(dir));

    const lines: string[] = [];
    const next = await startKubeApiServer({ installCrds: false, progress: (line) => lines.push(line) });
    try {
      assert.deepEqual(pids.filter(running), [], 'reaped');
      assert.equal(existsSync(dir), false, 'its folder (etcd data, certificates) is gone');
      assert.ok(
        lines.some((l) => l.startsWith(`reaped etcd ${pids[0]}, kube-apiserver ${pids[1]} and ${dir}, left behind by test process ${owner.pid} (gone)`)),
        lines.join('\n'),
      );
      assert.ok(next.pids().every(alive), 'the new API server runs');
    } finally {
      await next.stop();
    }
  });
});
