// Informers against a real kube-apiserver and etcd.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { compactEtcd, eventually, KubeRest, startKubeApiServer, type KubeApiServer } from '@osm/testing';
import { Informer } from '../src/informer.ts';
import { kubeListWatchClient } from '../src/kube-client.ts';
import { MeshInformers } from '../src/mesh-informers.ts';
import type { KubeObject } from '../src/types.ts';
import { GatedClient } from './clients.ts';

const sa = (ns: string, name: string, labels: Record<string, string> = {}) => ({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { namespace: ns, name, labels } });
const ns = (name: string, labels: Record<string, string> = {}) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
const names = (inf: { keys(): string[] }): string[] => inf.keys().sort();

describe('informers against a real API server', () => {
  let api: KubeApiServer;
  let rest: KubeRest;
  before(async () => {
    api = await startKubeApiServer({ progress: () => undefined });
    rest = new KubeRest(api.kubeConfig);
  });
  after(async () => {
    await api?.stop();
  });

  it('lists page by page, watches, and keeps frozen objects without managedFields', async () => {
    await rest.create('/api/v1/namespaces', ns('paging'));
    for (let i = 0; i < 7; i++) await rest.create('/api/v1/namespaces/paging/serviceaccounts', sa('paging', `sa-${i}`));
    const inf = new Informer<KubeObject>({ name: 'sa', path: '/api/v1/namespaces/paging/serviceaccounts', client: kubeListWatchClient(api.kubeConfig), pageSize: 3 });
    inf.start();
    try {
      await inf.waitForSync();
      assert.equal(inf.size, 7);
      assert.equal(inf.stats().lists, 1);
      const o = inf.get('paging/sa-0');
      assert.ok(o && Object.isFrozen(o) && Object.isFrozen(o.metadata));
      assert.equal(o.metadata.managedFields, undefined);
      await rest.patch('/api/v1/namespaces/paging/serviceaccounts/sa-0', { metadata: { labels: { x: 'y' } } });
      await rest.delete('/api/v1/namespaces/paging/serviceaccounts/sa-1');
      await eventually('watch events', () => inf.get('paging/sa-0')?.metadata.labels?.['x'] === 'y' && !inf.get('paging/sa-1'));
    } finally {
      inf.stop();
    }
  });

  it('after 410 Gone (etcd compacted past its resourceVersion) relists and reports only what changed', async () => {
    await rest.create('/api/v1/namespaces', ns('gone'));
    for (const n of ['a', 'b', 'c', 'd']) await rest.create('/api/v1/namespaces/gone/serviceaccounts', sa('gone', n));
    const gated = new GatedClient(kubeListWatchClient(api.kubeConfig));
    // Only a 410 may make it relist here (not a run of failures while the API server warms up).
    const inf = new Informer<KubeObject>({ name: 'sa', path: '/api/v1/namespaces/gone/serviceaccounts', client: gated, backoff: { initialMs: 50, maxMs: 500 }, relistAfterWatchFailures: 1000 });
    const events: string[] = [];
    inf.addHandler({
      onAdd: (o) => events.push(`add ${o.metadata.name}`),
      onUpdate: (o) => events.push(`update ${o.metadata.name}`),
      onDelete: (o) => events.push(`delete ${o.metadata.name}`),
    });
    inf.start();
    try {
      await inf.waitForSync();
      await eventually('the watch to open', () => gated.openWatches === 1);
      const before = inf.get('gone/a');
      events.length = 0;
      // The informer's watch breaks and stays down while objects change.
      gated.close();
      await rest.patch('/api/v1/namespaces/gone/serviceaccounts/b', { metadata: { labels: { changed: 'yes' } } });
      await rest.delete('/api/v1/namespaces/gone/serviceaccounts/c');
      await rest.create('/api/v1/namespaces/gone/serviceaccounts', sa('gone', 'e'));
      // History up to now is compacted away. The API server's watch cache would still serve the old
      // resourceVersion from memory, so it restarts too (its cache then starts at etcd's revision).
      await compactEtcd(api.etcdUrl);
      await api.stopApiServer('SIGKILL');
      await api.startApiServer();
      gated.open();
      await eventually('the relist after 410', () => inf.stats().gone >= 1 && inf.get('gone/e') !== undefined && inf.get('gone/c') === undefined);
      assert.deepEqual(events.sort(), ['add e', 'delete c', 'update b']);
      assert.equal(inf.stats().lists, 2, 'one relist, after the 410');
      assert.deepEqual(names(inf), ['gone/a', 'gone/b', 'gone/d', 'gone/e']);
      assert.equal(inf.get('gone/a'), before, 'unchanged objects keep their instance');
      assert.equal(inf.get('gone/b')?.metadata.labels?.['changed'], 'yes');
      // And it watches again.
      await rest.delete('/api/v1/namespaces/gone/serviceaccounts/d');
      await eventually('a watch event after the relist', () => inf.get('gone/d') === undefined);
    } finally {
      inf.stop();
    }
  });

  it('recovers when kube-apiserver and etcd are killed and restarted; its store equals a fresh list', async () => {
    await rest.create('/api/v1/namespaces', ns('outage'));
    for (const n of ['a', 'b', 'c']) await rest.create('/api/v1/namespaces/outage/serviceaccounts', sa('outage', n));
    const inf = new Informer<KubeObject>({ name: 'sa', path: '/api/v1/serviceaccounts', client: kubeListWatchClient(api.kubeConfig), backoff: { initialMs: 100, maxMs: 1000 } });
    inf.start();
    try {
      await inf.waitForSync();
      // Changes right before the outage...
      await rest.create('/api/v1/namespaces/outage/serviceaccounts', sa('outage', 'before'));
      await rest.delete('/api/v1/namespaces/outage/serviceaccounts/a');
      await api.stopApiServer('SIGKILL');
      await api.stopEtcd('SIGKILL');
      await new Promise((r) => setTimeout(r, 500));
      await api.startEtcd();
      await api.startApiServer();
      // ...and right after it, possibly before the informer is back.
      await rest.create('/api/v1/namespaces/outage/serviceaccounts', sa('outage', 'after'));
      await rest.patch('/api/v1/namespaces/outage/serviceaccounts/b', { metadata: { labels: { v: '2' } } });
      await rest.delete('/api/v1/namespaces/outage/serviceaccounts/c');
      assert.ok(inf.stats().failures >= 1, 'the informer noticed the outage');
      const fresh = async (): Promise<string[]> => {
        const list = (await rest.ok('GET', '/api/v1/serviceaccounts')) as { items: { metadata: { namespace: string; name: string; resourceVersion: string } }[] };
        return list.items.map((o) => `${o.metadata.namespace}/${o.metadata.name}@${o.metadata.resourceVersion}`).sort();
      };
      const cached = (): string[] => inf.list().map((o) => `${o.metadata.namespace}/${o.metadata.name}@${o.metadata.resourceVersion}`).sort();
      await eventually('the store to equal a fresh list', async () => JSON.stringify(cached()) === JSON.stringify(await fresh()));
      assert.ok(inf.get('outage/after') && inf.get('outage/before') && !inf.get('outage/a') && !inf.get('outage/c'));
    } finally {
      inf.stop();
    }
  });

  it('restarts a watch that has been silent longer than the stall timeout, and keeps up afterwards', async () => {
    await rest.create('/api/v1/namespaces', ns('quiet'));
    const inf = new Informer<KubeObject>({ name: 'sa', path: '/api/v1/namespaces/quiet/serviceaccounts', client: kubeListWatchClient(api.kubeConfig), stallTimeoutMs: 500 });
    inf.start();
    try {
      await inf.waitForSync();
      await eventually('a stall restart', () => inf.stats().stalls >= 2);
      assert.equal(inf.stats().lists, 1, 'a stall rewatches; it does not relist');
      await rest.create('/api/v1/namespaces/quiet/serviceaccounts', sa('quiet', 'late'));
      await eventually('the event after the restarts', () => inf.get('quiet/late') !== undefined);
    } finally {
      inf.stop();
    }
  });

  it('keeps only objects of monitored namespaces; joining and leaving the mesh adds and drops them', async () => {
    await rest.create('/api/v1/namespaces', ns('mesh-a', { 'openservicemesh.io/monitored-by': 'osm' }));
    await rest.create('/api/v1/namespaces', ns('mesh-b'));
    await rest.create('/api/v1/namespaces', ns('mesh-ignored', { 'openservicemesh.io/monitored-by': 'osm', 'openservicemesh.io/ignore': 'true' }));
    for (const n of ['mesh-a', 'mesh-b', 'mesh-ignored']) await rest.create(`/api/v1/namespaces/${n}/serviceaccounts`, sa(n, 'app'));
    const mesh = new MeshInformers({ client: kubeListWatchClient(api.kubeConfig), meshName: 'osm', controlPlaneNamespace: 'osm-system', backoff: { initialMs: 100, maxMs: 1000 } });
    mesh.start();
    try {
      await mesh.waitForSync();
      assert.deepEqual(names(mesh.namespaces), ['mesh-a']);
      assert.deepEqual(names(mesh.serviceAccounts), ['mesh-a/app']);
      await rest.patch('/api/v1/namespaces/mesh-b', { metadata: { labels: { 'openservicemesh.io/monitored-by': 'osm' } } });
      await eventually('mesh-b to join', () => mesh.serviceAccounts.get('mesh-b/app') !== undefined);
      await rest.patch('/api/v1/namespaces/mesh-a', { metadata: { labels: { 'openservicemesh.io/monitored-by': null } } });
      await eventually('mesh-a to leave', () => mesh.serviceAccounts.get('mesh-a/app') === undefined);
      await rest.create('/api/v1/namespaces/mesh-a/serviceaccounts', sa('mesh-a', 'later'));
      await rest.create('/api/v1/namespaces/mesh-b/serviceaccounts', sa('mesh-b', 'later'));
      await eventually('the new object in mesh-b', () => mesh.serviceAccounts.get('mesh-b/later') !== undefined);
      assert.deepEqual(names(mesh.serviceAccounts), ['mesh-b/app', 'mesh-b/later']);
      assert.deepEqual(names(mesh.namespaces), ['mesh-b']);
    } finally {
      mesh.stop();
    }
  });
});
