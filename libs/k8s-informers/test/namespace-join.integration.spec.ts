// Namespaces joining and leaving the mesh against a real kube-apiserver and etcd: each join lists
// only its namespace while the cluster-wide watches keep running.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { monitoredByLabel } from '@osm/mesh-model';
import { eventually, KubeRest, startKubeApiServer, type KubeApiServer } from '@osm/testing';
import type { Informer } from '../src/informer.ts';
import { kubeListWatchClient } from '../src/kube-client.ts';
import { kindPaths, MeshInformers, namespacedKinds } from '../src/mesh-informers.ts';
import type { KubeObject } from '../src/types.ts';
import { GatedClient } from './clients.ts';

const pod = (name: string, labels: Record<string, string> = {}) => ({ metadata: { name, labels }, spec: { containers: [{ name: 'app', image: 'example.invalid/app:1.0' }] } });
const label = (value: string | null) => ({ metadata: { labels: { [monitoredByLabel]: value } } });

/** Runs `jobs` with at most `limit` in flight. */
async function bounded(jobs: readonly (() => Promise<unknown>)[], limit: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) await jobs[next++]?.();
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

const entry = (o: KubeObject): string => `${o.metadata.namespace}/${o.metadata.name}@${o.metadata.resourceVersion}`;

describe('namespaces joining and leaving the mesh (real API server)', () => {
  let api: KubeApiServer;
  let rest: KubeRest;
  before(async () => {
    api = await startKubeApiServer({ progress: () => undefined });
    rest = new KubeRest(api.kubeConfig);
  });
  after(async () => {
    await api?.stop();
  });

  /** `namespace/name@resourceVersion` of a fresh cluster-wide list, in namespaces of the mesh now. */
  async function fresh(path: string): Promise<string[]> {
    const namespaces = (await rest.ok('GET', `/api/v1/namespaces?labelSelector=${encodeURIComponent(`${monitoredByLabel}=osm`)}`)) as { items: KubeObject[] };
    const monitored = new Set(namespaces.items.map((n) => n.metadata.name));
    const list = (await rest.ok('GET', path)) as { items: KubeObject[] };
    return list.items
      .filter((o) => monitored.has(o.metadata.namespace ?? ''))
      .map(entry)
      .sort();
  }
  const held = (inf: Informer<KubeObject>): string[] => inf.list().map(entry).sort();

  /** Waits until every namespaced informer holds exactly what a fresh list of its kind gives. */
  async function converged(mesh: MeshInformers, timeoutMs = 120_000): Promise<void> {
    const informers = namespacedKinds.map((kind) => mesh[kind]);
    await eventually('every namespace list applied', () => informers.every((inf) => inf.stats().namespacesPending === 0), timeoutMs);
    for (const kind of namespacedKinds) {
      let last: { held: number; fresh: number } = { held: 0, fresh: 0 };
      await eventually(
        `${kind} to equal a fresh list (last: ${JSON.stringify(last)})`,
        async () => {
          const expected = await fresh(kindPaths[kind]);
          const actual = held(mesh[kind]);
          last = { held: actual.length, fresh: expected.length };
          return JSON.stringify(actual) === JSON.stringify(expected);
        },
        timeoutMs,
      );
    }
  }

  it('50 namespaces labelled in a burst while 5,000 pods exist: each is listed once, alone, and no watch restarts', async () => {
    const base = Array.from({ length: 10 }, (_, i) => `base-${i}`);
    const joining = Array.from({ length: 50 }, (_, i) => `join-${i}`);
    const outside = ['outside-0', 'outside-1'];
    for (const n of base) await rest.create('/api/v1/namespaces', { metadata: { name: n, labels: { [monitoredByLabel]: 'osm' } } });
    for (const n of [...joining, ...outside]) await rest.create('/api/v1/namespaces', { metadata: { name: n } });
    const jobs: (() => Promise<unknown>)[] = [];
    const add = (n: string, pods: number): void => {
      jobs.push(() => rest.create(`/api/v1/namespaces/${n}/serviceaccounts`, { metadata: { name: 'app' } }));
      jobs.push(() => rest.create(`/api/v1/namespaces/${n}/services`, { metadata: { name: 'app' }, spec: { clusterIP: 'None', selector: { app: 'app' }, ports: [{ port: 80 }] } }));
      for (let i = 0; i < pods; i++) jobs.push(() => rest.create(`/api/v1/namespaces/${n}/pods`, pod(`p-${i}`, { app: 'app' })));
    };
    for (const n of base) add(n, 80);
    for (const n of joining) add(n, 80);
    for (const n of outside) add(n, 100);
    await bounded(jobs, 16);

    const client = new GatedClient(kubeListWatchClient(api.kubeConfig));
    // Pages of 50: the namespace lists take two pages, so the continue token carries their resourceVersion.
    const mesh = new MeshInformers({ client, meshName: 'osm', controlPlaneNamespace: 'osm-system', pageSize: 50, backoff: { initialMs: 100, maxMs: 1000 } });
    mesh.start();
    try {
      await mesh.waitForSync();
      assert.equal(mesh.pods.size, 800);
      await eventually('every watch to open', () => client.openWatches === mesh.all().length);

      // The burst, with pods changing, leaving and arriving in the joining namespaces meanwhile.
      let writing = true;
      let n = 0;
      const writer = async (): Promise<void> => {
        while (writing) {
          const i = n++;
          const ns = joining[i % joining.length] ?? '';
          if (i % 5 === 0) await rest.delete(`/api/v1/namespaces/${ns}/pods/p-${(i / 5) % 80}`).catch(() => undefined);
          else if (i % 5 === 1) await rest.create(`/api/v1/namespaces/${ns}/pods`, pod(`extra-${i}`));
          else await rest.patch(`/api/v1/namespaces/${ns}/pods/p-${i % 80}`, { metadata: { labels: { touched: String(i) } } }).catch(() => undefined);
        }
      };
      const writers = Promise.all([writer(), writer()]);
      await Promise.all(joining.map((ns) => rest.patch(`/api/v1/namespaces/${ns}`, label('osm'))));
      await new Promise((r) => setTimeout(r, 1000));
      writing = false;
      await writers;

      await converged(mesh);
      assert.ok(mesh.pods.size > 800 + 50 * 70, `the joined pods are there (${mesh.pods.size})`);
      assert.ok(!mesh.pods.list().some((p) => p.metadata.namespace?.startsWith('outside-')));
      for (const kind of namespacedKinds) {
        const path = kindPaths[kind];
        const stats = mesh[kind].stats();
        assert.equal(client.listsOf(path), 1, `${kind}: one cluster-wide list, the first`);
        assert.equal(client.watches.filter((p) => p === path).length, 1, `${kind}: its watch never restarted`);
        assert.deepEqual({ lists: stats.lists, watches: stats.watches, gone: stats.gone, stalls: stats.stalls, failures: stats.failures }, { lists: 1, watches: 1, gone: 0, stalls: 0, failures: 0 }, kind);
        assert.equal(stats.namespaceLists, 50, `${kind}: one list per joining namespace`);
      }
      const podLists = client.lists.filter((l) => l.path.endsWith('/pods') && l.path !== kindPaths.pods && l.request.continueToken === undefined);
      assert.deepEqual(podLists.map((l) => l.path).sort(), joining.map((ns) => `/api/v1/namespaces/${ns}/pods`).sort());
      assert.ok(podLists.every((l) => l.request.resourceVersionMatch === 'NotOlderThan' && l.request.resourceVersion));
      assert.ok(client.lists.some((l) => l.path.startsWith('/api/v1/namespaces/join-') && l.request.continueToken !== undefined), 'some namespace list took a second page');
      assert.equal(client.openWatches, mesh.all().length, 'every watch is still open');

      // The running watch carries on for a joined namespace.
      await rest.create('/api/v1/namespaces/join-7/pods', pod('after'));
      await eventually('a new pod in a joined namespace', () => mesh.pods.get('join-7/after') !== undefined);
      assert.equal(mesh.pods.stats().watches, 1);
    } finally {
      mesh.stop();
    }
  });

  it('a namespace leaving drops only its objects; rejoining lists it alone and equals a fresh list', async () => {
    for (const n of ['lr-a', 'lr-b']) {
      await rest.create('/api/v1/namespaces', { metadata: { name: n, labels: { [monitoredByLabel]: 'osm' } } });
      await rest.create(`/api/v1/namespaces/${n}/serviceaccounts`, { metadata: { name: 'app' } });
      for (let i = 0; i < 5; i++) await rest.create(`/api/v1/namespaces/${n}/pods`, pod(`p-${i}`));
    }
    const client = new GatedClient(kubeListWatchClient(api.kubeConfig));
    const mesh = new MeshInformers({ client, meshName: 'osm', controlPlaneNamespace: 'osm-system', backoff: { initialMs: 100, maxMs: 1000 } });
    const deleted: string[] = [];
    mesh.pods.addHandler({ onDelete: (o) => deleted.push(`${o.metadata.namespace}/${o.metadata.name}`) });
    mesh.start();
    try {
      await mesh.waitForSync();
      const before = mesh.pods.get('lr-a/p-0');
      assert.ok(before && mesh.pods.get('lr-b/p-0'));
      await rest.patch('/api/v1/namespaces/lr-b', label(null));
      await eventually('lr-b to leave', () => mesh.pods.get('lr-b/p-0') === undefined && mesh.serviceAccounts.get('lr-b/app') === undefined);
      assert.deepEqual(deleted.sort(), ['lr-b/p-0', 'lr-b/p-1', 'lr-b/p-2', 'lr-b/p-3', 'lr-b/p-4']);
      assert.equal(mesh.pods.get('lr-a/p-0'), before, 'other namespaces are untouched');
      // While it is out: changes the informers do not keep.
      await rest.create('/api/v1/namespaces/lr-b/pods', pod('new'));
      await rest.delete('/api/v1/namespaces/lr-b/pods/p-1');
      await rest.patch('/api/v1/namespaces/lr-b/pods/p-2', { metadata: { labels: { v: '2' } } });
      await rest.patch('/api/v1/namespaces/lr-b', label('osm'));
      await converged(mesh);
      assert.ok(mesh.pods.get('lr-b/new') && !mesh.pods.get('lr-b/p-1') && mesh.pods.get('lr-b/p-2')?.metadata.labels?.['v'] === '2');
      for (const kind of namespacedKinds) {
        const stats = mesh[kind].stats();
        assert.deepEqual({ lists: stats.lists, watches: stats.watches, namespaceLists: stats.namespaceLists }, { lists: 1, watches: 1, namespaceLists: 1 }, kind);
      }
      assert.equal(client.listsOf('/api/v1/namespaces/lr-b/pods'), 1);
    } finally {
      mesh.stop();
    }
  });

  it('a namespace joining while the API server restarts ends equal to a fresh list', async () => {
    for (const n of ['rs-a', 'rs-b']) {
      await rest.create('/api/v1/namespaces', { metadata: { name: n } });
      await rest.create(`/api/v1/namespaces/${n}/serviceaccounts`, { metadata: { name: 'app' } });
      for (let i = 0; i < 5; i++) await rest.create(`/api/v1/namespaces/${n}/pods`, pod(`p-${i}`));
    }
    const mesh = new MeshInformers({ client: kubeListWatchClient(api.kubeConfig), meshName: 'osm', controlPlaneNamespace: 'osm-system', backoff: { initialMs: 100, maxMs: 1000 } });
    mesh.start();
    try {
      await mesh.waitForSync();
      await rest.patch('/api/v1/namespaces/rs-a', label('osm'));
      await api.stopApiServer('SIGKILL');
      await new Promise((r) => setTimeout(r, 500));
      await api.startApiServer();
      await rest.create('/api/v1/namespaces/rs-a/pods', pod('after'));
      await rest.delete('/api/v1/namespaces/rs-a/pods/p-0');
      await rest.patch('/api/v1/namespaces/rs-b', label('osm'));
      assert.ok(mesh.pods.stats().failures >= 1, 'the informer noticed the outage');
      await converged(mesh);
      assert.ok(mesh.pods.get('rs-a/after') && !mesh.pods.get('rs-a/p-0') && mesh.pods.get('rs-b/p-0'));
      await rest.create('/api/v1/namespaces/rs-b/pods', pod('later'));
      await eventually('a watch event after the restart', () => mesh.pods.get('rs-b/later') !== undefined);
    } finally {
      mesh.stop();
    }
  });
});
