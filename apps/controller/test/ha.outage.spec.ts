// HA scenario "API server outage": kube-apiserver and etcd stop (same data dir and ports when they come
// back). The replicas keep serving their last known config and keep every proxy; readiness names the
// problem. A change made just before the outage and one made after it both reach every proxy.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, trafficTarget, trafficTargetsPath, type ControllerProcess } from '@osm/testing';
import { TYPE_URLS } from '@osm/xds-snapshot';
import { configDump, convergedOn, hasFullConfig, sampleFleet, startHaMesh, type HaMesh } from './ha-mesh.ts';

interface Readyz {
  readonly ready: boolean;
  readonly checks: readonly { name: string; ok: boolean; message?: string }[];
}

const readyz = async (c: ControllerProcess): Promise<{ status: number; body: Readyz }> => {
  const { status, body } = await c.get('/readyz');
  return { status, body: JSON.parse(body) as Readyz };
};

describe('HA: the API server goes away and comes back', () => {
  let ha: HaMesh;
  before(async () => {
    ha = await startHaMesh({ podsPerApp: 2, replicas: 3 });
    await ha.fleet.waitFor('every proxy to hold a full config', (ss) => ss.every((s) => s.connected && hasFullConfig(s)));
  });
  after(() => ha?.stop());

  it('replicas keep serving and keep their proxies while it is down, say so in /readyz, and pick up the changes made before and after', async () => {
    const replicas = [...ha.replicas.values()];
    const thieves = ha.mesh.pods.filter((p) => p.app === 'bookthief');
    const connects = new Map(ha.fleet.statuses().map((s) => [s.uuid, s.connects]));
    // No stream may end, during the outage or when the API server is back.
    const stopSampling = sampleFleet(ha.fleet, (s) => (!s.connected ? 'disconnected' : s.connects !== connects.get(s.uuid) ? 'reconnected' : undefined));

    // Before: bookthief may buy books. The API server stops right after accepting it.
    await ha.rest.create(trafficTargetsPath('bookstore'), trafficTarget('bookstore', 'bookstore-thief', [{ ns: 'bookthief', sa: 'bookthief' }], 'bookstore-service-routes', 'bookstore'));
    await ha.api.stopApiServer();
    await ha.api.stopEtcd();

    for (const [i, c] of replicas.entries()) {
      await eventually(`replica ${i} to report the API server in /readyz`, async () => (await readyz(c)).body.checks.some((check) => check.name === 'kube-api' && !check.ok), 60_000);
      const { body } = await readyz(c);
      const api = body.checks.find((check) => check.name === 'kube-api');
      assert.match(api?.message ?? '', /API server/i, `replica ${i}: ${JSON.stringify(api)}`);
      // Still serving what it knows: the debug endpoints answer from memory.
      const dump = await configDump(c, thieves[0]?.uuid ?? '');
      assert.ok(dump.config['clusters'], `replica ${i} still dumps configs`);
    }
    for (const s of ha.fleet.statuses()) assert.ok(hasFullConfig(s), `${s.uuid} holds its config while the API server is down`);

    await ha.api.startEtcd();
    await ha.api.startApiServer();
    // After: bookthief may also restock books at the warehouse.
    await ha.rest.create(trafficTargetsPath('bookwarehouse'), trafficTarget('bookwarehouse', 'bookwarehouse-thief', [{ ns: 'bookthief', sa: 'bookthief' }], 'bookwarehouse-service-routes', 'bookwarehouse'));

    for (const [i, c] of replicas.entries()) {
      await eventually(`replica ${i} ready again`, async () => (await readyz(c)).status === 200, 90_000);
      await eventually(`replica ${i} to know both changes`, async () => {
        const names = (await configDump(c, thieves[0]?.uuid ?? '')).config['clusters']?.resources.map((r) => r.name) ?? [];
        return names.some((n) => n.startsWith('bookstore/')) && names.some((n) => n.startsWith('bookwarehouse/bookwarehouse|'));
      }, 60_000);
    }
    await eventually('every proxy converged', async () => {
      const now = ha.fleet.statuses();
      for (const c of replicas) if (!(await convergedOn(c, now))) return false;
      return true;
    }, 60_000);
    assert.deepEqual(stopSampling(), [], 'every proxy kept its stream through the outage and the recovery');
    for (const s of ha.fleet.statuses().filter((x) => thieves.some((p) => p.uuid === x.uuid))) {
      assert.ok((s.types[TYPE_URLS.endpoints]?.names ?? []).some((n) => n.startsWith('bookwarehouse/')), 'bookthief holds the warehouse endpoints');
      assert.ok((s.types[TYPE_URLS.endpoints]?.names ?? []).some((n) => n.startsWith('bookstore/')), 'and the bookstore endpoints');
    }
  });
});
