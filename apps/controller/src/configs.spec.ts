import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CachedCertificate } from '@osm/certificates';
import type { CatalogBatch } from '@osm/mesh-catalog';
import { meshModel, type MeshModel, type Proxy } from '@osm/mesh-model';
import { createLogger } from '@osm/observability';
import { FakeClock } from '@osm/testing';
import type { Snapshot } from '@osm/xds-snapshot';
import { ProxyConfigs } from './configs.ts';

const proxy = (uuid: string, sa: string): Proxy => ({ uuid, identity: { namespace: 'shop', name: sa }, namespace: 'shop', podName: `${sa}-${uuid}`, services: [], prometheusScrape: false });
const web1 = proxy('u-web-1', 'web');
const web2 = proxy('u-web-2', 'web');
const db1 = proxy('u-db-1', 'db');
const batch = (model: MeshModel, affected: string[] | 'all'): CatalogBatch => ({
  sequence: 1,
  model,
  previous: undefined,
  identities: [],
  affectedProxies: affected === 'all' ? [...model.proxies.keys()] : affected,
  allProxies: affected === 'all',
  diff: undefined,
  changes: 1,
  problems: [],
});

function harness(connected: string[]) {
  const pushed: string[] = [];
  const snapshots = new Map<string, Snapshot>();
  const issued: string[] = [];
  const deleted: string[] = [];
  let serial = 0;
  const connectedSet = new Set(connected);
  const configs = new ProxyConfigs({
    service: {
      setSnapshot: (s) => {
        pushed.push(s.proxy);
        snapshots.set(s.proxy, s);
      },
      isConnected: (uuid) => connectedSet.has(uuid),
      connectedProxies: () => connectedSet.values(),
      snapshot: (uuid) => snapshots.get(uuid),
    },
    certificates: {
      get: (subject) => {
        const id = subject.kind === 'service' ? `${subject.namespace}/${subject.serviceAccount}` : '?';
        issued.push(id);
        return Promise.resolve({ certificatePem: `cert ${id} ${++serial}`, privateKeyPem: 'key' } as CachedCertificate);
      },
      delete: (subject) => void deleted.push(subject.kind === 'service' ? `${subject.namespace}/${subject.serviceAccount}` : '?'),
    },
    trustBundlePem: 'root',
    logger: createLogger({ component: 'test', level: 'silent' }),
    clock: new FakeClock(),
  });
  return { configs, pushed, snapshots, issued, deleted, connectedSet };
}

describe('proxy configs', () => {
  it('builds the connected proxies of the first batch, then only the affected connected ones', async () => {
    const h = harness([web1.uuid, db1.uuid]);
    const model = meshModel({ proxies: [web1, web2, db1] });
    assert.equal(h.configs.firstBuilt, false);
    h.configs.onBatch(batch(model, 'all'));
    await h.configs.idle();
    assert.equal(h.configs.firstBuilt, true);
    assert.deepEqual(h.pushed.sort(), [db1.uuid, web1.uuid]);
    h.pushed.length = 0;
    h.configs.onBatch(batch(meshModel({ proxies: [web1, web2, db1] }), [web2.uuid, db1.uuid]));
    await h.configs.idle();
    assert.deepEqual(h.pushed, [db1.uuid], 'web2 is not connected here; web1 was not affected');
  });

  it('builds a proxy when it connects, and its identity once its certificate rotates', async () => {
    const h = harness([]);
    h.configs.onBatch(batch(meshModel({ proxies: [web1, web2, db1] }), 'all'));
    await h.configs.idle();
    h.connectedSet.add(web1.uuid).add(web2.uuid).add(db1.uuid);
    h.configs.proxyConnected(web1);
    await h.configs.idle();
    assert.deepEqual(h.pushed, [web1.uuid]);
    h.pushed.length = 0;
    h.configs.certificateRotated({ namespace: 'shop', name: 'web' });
    await h.configs.idle();
    assert.deepEqual(h.pushed.sort(), [web1.uuid, web2.uuid]);
  });

  it('dumps a proxy that is not connected without pushing it', async () => {
    const h = harness([]);
    h.configs.onBatch(batch(meshModel({ proxies: [web1] }), 'all'));
    const snapshot = await h.configs.snapshotOf(web1.uuid);
    assert.equal(snapshot?.proxy, web1.uuid);
    assert.equal(h.pushed.length, 0);
    assert.equal(await h.configs.snapshotOf('nobody'), undefined);
  });

  it('stops renewing the certificates of identities that have no proxy left', async () => {
    const h = harness([web1.uuid, db1.uuid]);
    h.configs.onBatch(batch(meshModel({ proxies: [web1, db1] }), 'all'));
    await h.configs.idle();
    h.configs.onBatch(batch(meshModel({ proxies: [web1] }), [db1.uuid]));
    await h.configs.idle();
    assert.deepEqual(h.deleted, ['shop/db']);
  });
});
