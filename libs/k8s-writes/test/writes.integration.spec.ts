// The writes against a real kube-apiserver: Events are created once and then counted, Secrets are never
// overwritten, and server-side apply is idempotent for two field owners applying the same object.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, KubeConfig, type CoreV1Event, type KubernetesObject } from '@kubernetes/client-node';
import { eventually, startKubeApiServer, type KubeApiServer } from '@osm/testing';
import { KubeEventRecorder, KubeSecretStore, serverSideApply, statusCode } from '../src/index.ts';

let api: KubeApiServer;
let core: CoreV1Api;

before(async () => {
  api = await startKubeApiServer({ installCrds: false });
  core = api.kubeConfig.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: 'writes' } } });
});
after(() => api?.stop());

const eventsFor = async (namespace: string, name: string): Promise<CoreV1Event[]> =>
  (await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` })).items;

describe('KubeEventRecorder', () => {
  it('creates an Event on the object and aggregates repeats into its count', async () => {
    let now = Date.parse('2026-11-30T10:00:00Z');
    const errors: unknown[] = [];
    const recorder = new KubeEventRecorder({ kubeConfig: api.kubeConfig, component: 'osm-controller', instance: 'osm-controller-0', clock: { now: () => now }, onError: (err) => errors.push(err) });
    const split = { apiVersion: 'split.smi-spec.io/v1alpha2', kind: 'TrafficSplit', namespace: 'writes', name: 'ab', uid: '6a4c1f0e-0000-4000-8000-000000000001' };
    recorder.record(split, 'Warning', 'InvalidApex', 'spec.service "x.other" names namespace other; allowed: <name>, <name>.writes or <name>.writes.svc.cluster.local');
    await recorder.flush();
    now += 1000;
    recorder.record(split, 'Warning', 'InvalidApex', 'spec.service "x.other" names namespace other; allowed: <name>, <name>.writes or <name>.writes.svc.cluster.local');
    recorder.record(split, 'Warning', 'InvalidApex', 'spec.service "x.other" names namespace other; allowed: <name>, <name>.writes or <name>.writes.svc.cluster.local');
    await recorder.flush();
    assert.deepEqual(errors, []);
    const events = await eventsFor('writes', 'ab');
    assert.equal(events.length, 1, 'repeats of one event are one Event');
    const [e] = events as [CoreV1Event];
    assert.equal(e.count, 3);
    assert.equal(e.type, 'Warning');
    assert.equal(e.reason, 'InvalidApex');
    assert.equal(e.involvedObject.kind, 'TrafficSplit');
    assert.equal(e.involvedObject.uid, split.uid);
    assert.equal(e.source?.component, 'osm-controller');
    assert.equal(e.reportingInstance, 'osm-controller-0');
    assert.ok(e.lastTimestamp && e.firstTimestamp && new Date(e.lastTimestamp).getTime() > new Date(e.firstTimestamp).getTime());

    // Another reason is another Event; a cluster-scoped object's Event goes to `default`.
    recorder.record(split, 'Warning', 'InvalidBackend', 'spec.backends[0].service "" is empty');
    recorder.record({ apiVersion: 'v1', kind: 'Namespace', name: 'writes' }, 'Normal', 'Joined', 'namespace joined mesh osm');
    await recorder.flush();
    assert.equal((await eventsFor('writes', 'ab')).length, 2);
    await eventually('the namespace Event in default', async () => (await eventsFor('default', 'writes')).length === 1);
  });

  it('recreates an aggregated Event that was deleted, and reports failures without throwing', async () => {
    const errors: unknown[] = [];
    const recorder = new KubeEventRecorder({ kubeConfig: api.kubeConfig, component: 'osm-controller', onError: (err) => errors.push(err) });
    const obj = { apiVersion: 'v1', kind: 'Service', namespace: 'writes', name: 'svc' };
    recorder.record(obj, 'Warning', 'Bad', 'one');
    await recorder.flush();
    const [first] = await eventsFor('writes', 'svc');
    await core.deleteNamespacedEvent({ namespace: 'writes', name: first?.metadata?.name ?? '' });
    recorder.record(obj, 'Warning', 'Bad', 'one');
    await recorder.flush();
    const again = await eventsFor('writes', 'svc');
    assert.equal(again.length, 1);
    assert.notEqual(again[0]?.metadata?.name, first?.metadata?.name);

    // A namespace that does not exist: the write fails, is reported, and record() did not throw.
    recorder.record({ apiVersion: 'v1', kind: 'Service', namespace: 'no-such-namespace', name: 'x' }, 'Warning', 'Bad', 'x');
    await recorder.flush();
    assert.equal(errors.length, 1);
    assert.equal(statusCode(errors[0]), 404);
  });
});

describe('KubeSecretStore', () => {
  it('creates once and never overwrites', async () => {
    const store = new KubeSecretStore(api.kubeConfig);
    assert.equal(await store.get('writes', 's'), undefined);
    assert.equal(await store.create({ namespace: 'writes', name: 's', labels: { a: 'b' }, data: { k: Buffer.from('first') } }), 'created');
    assert.equal(await store.create({ namespace: 'writes', name: 's', labels: {}, data: { k: Buffer.from('second') } }), 'exists');
    assert.equal((await store.get('writes', 's'))?.data['k']?.toString(), 'first');
  });

  it('creates over one kept-alive connection, not one per Secret', async () => {
    // A TCP proxy in front of the API server counts the connections the store opens.
    let connections = 0;
    const upstream = new URL(api.kubeConfig.getCurrentCluster()?.server ?? '');
    const proxy = createServer((client) => {
      connections++;
      const server = connect(Number(upstream.port), upstream.hostname);
      client.pipe(server).pipe(client);
      client.on('error', () => server.destroy());
      server.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    after(() => proxy.close());
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(readFileSync(api.kubeconfigPath, 'utf8').replaceAll(upstream.origin, `https://127.0.0.1:${(proxy.address() as AddressInfo).port}`));
    const store = new KubeSecretStore(kubeConfig);
    for (let i = 0; i < 5; i++) assert.equal(await store.create({ namespace: 'writes', name: `kept-${i}`, labels: {}, data: { k: Buffer.from('v') } }), 'created');
    assert.equal(connections, 1);
  });

  it('deletes only the object with the given uid', async () => {
    const store = new KubeSecretStore(api.kubeConfig);
    await store.create({ namespace: 'writes', name: 'd', labels: {}, data: { k: Buffer.from('v') } });
    const uid = (await core.readNamespacedSecret({ namespace: 'writes', name: 'd' })).metadata?.uid ?? '';
    assert.equal(await store.delete('writes', 'd', '00000000-0000-0000-0000-000000000000'), 'absent', 'another uid: left alone');
    assert.ok(await store.get('writes', 'd'));
    assert.equal(await store.delete('writes', 'd', uid), 'deleted');
    assert.equal(await store.get('writes', 'd'), undefined);
    assert.equal(await store.delete('writes', 'd', uid), 'absent');
  });
});

describe('serverSideApply', () => {
  it('is idempotent and lets replicas of one component apply the same object without conflict', async () => {
    const cm: KubernetesObject & { data: Record<string, string> } = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: 'writes' }, data: { a: '1' } };
    const [first] = await serverSideApply(api.kubeConfig, [cm], { fieldManager: 'osm-test' });
    const [second] = await serverSideApply(api.kubeConfig, [cm], { fieldManager: 'osm-test' });
    assert.equal(second?.metadata?.resourceVersion, first?.metadata?.resourceVersion, 'applying the same content changes nothing');
    const changed: typeof cm = { ...cm, data: { a: '2' } };
    const [dry] = await serverSideApply(api.kubeConfig, [changed], { fieldManager: 'osm-test', dryRun: true });
    assert.equal((dry as typeof cm).data['a'], '2');
    assert.equal((await core.readNamespacedConfigMap({ namespace: 'writes', name: 'cm' })).data?.['a'], '1', 'a dry run stores nothing');
  });
});
