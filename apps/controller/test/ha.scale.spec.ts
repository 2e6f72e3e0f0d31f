// HA scenario "scale-out": a fourth replica joins the Service. Established connections stay where
// they are; with --max-connection-age each connection is recycled after the age (±10 % jitter, then the
// grace period for its stream), so the proxies spread over all four replicas, a few at a time.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ControllerProcess } from '@osm/testing';
import { convergedOn, hasFullConfig, sampleFleet, startHaMesh, versionsWithoutSecrets, type HaMesh } from './ha-mesh.ts';

const MAX_AGE_S = 30;
/** grpc-js lets streams run this long after the age's GOAWAY (the ADS server's default grace). */
const GRACE_S = 10;

describe('HA: scale-out with a maximum connection age', () => {
  let ha: HaMesh;
  before(async () => {
    // The fourth replica starts with the others but joins the Service only when the test says so,
    // as a Service adds a pod once it is ready.
    ha = await startHaMesh({ podsPerApp: 4, replicas: 4, inService: 3, controllerArgs: ['--max-connection-age', `${MAX_AGE_S}s`] });
    await ha.fleet.waitFor('every proxy to hold a full config', (ss) => ss.every((s) => s.connected && hasFullConfig(s)));
  });
  after(() => ha?.stop());

  it('keeps existing connections when a replica joins, then spreads them over all four within the age plus jitter, without a burst', async (t) => {
    const proxies = ha.fleet.statuses().length;
    const initial = new Map(ha.fleet.statuses().map((s) => [s.uuid, JSON.stringify(versionsWithoutSecrets(s))]));
    const fourth = [...ha.replicas.keys()][3] as string;
    // When each proxy's first connection ended (fleet clock): the server's age timers decide these, so
    // they show the jitter however long the reconnects take on a busy machine.
    const firstEnd = new Map<string, number>();
    const stopSampling = sampleFleet(ha.fleet, (s) => (!hasFullConfig(s) ? 'without a full config' : JSON.stringify(versionsWithoutSecrets(s)) !== initial.get(s.uuid) ? 'versions changed' : undefined));
    const burst = setInterval(() => {
      const now = ha.fleet.now();
      for (const s of ha.fleet.statuses()) if (!firstEnd.has(s.uuid) && (!s.connected || s.connects >= 2)) firstEnd.set(s.uuid, now);
    }, 10);
    try {
      ha.fleet.setServers(await ha.addresses());
      await ha.fleet.sync();
      for (const s of ha.fleet.statuses()) {
        assert.equal(s.connects, 1, `${s.uuid} kept its first connection`);
        assert.notEqual(ha.servedBy(s), fourth);
      }
      const onFourth = await (ha.replicas.get(fourth) as ControllerProcess).json<{ proxies: unknown[] }>('/debug/proxies');
      assert.equal(onFourth.proxies.length, 0, 'joining moves no established connection');

      // Every connection recycled at least once, the proxies on all four replicas. The timeout leaves
      // room for a second round of ages (a proxy picks a replica at random on each reconnect).
      const statuses = await ha.fleet.waitFor(
        'connections spread over four replicas',
        (ss) => ss.every((s) => s.connected && s.connects >= 2 && hasFullConfig(s)) && new Set(ss.map((s) => ha.servedBy(s))).size === 4,
        2 * (MAX_AGE_S * 1.1 + GRACE_S) * 1000 + 30_000,
      );
      const counts = Map.groupBy(statuses, (s) => ha.servedBy(s));
      assert.deepEqual([...counts.keys()].sort(), [...ha.replicas.keys()].sort());
      assert.ok(await convergedOn(ha.replicas.get(fourth) as ControllerProcess, statuses));
    } finally {
      clearInterval(burst);
    }
    assert.deepEqual(stopSampling(), [], 'no proxy lost its config or saw a version change while moving');
    // Jittered ages (±10 % of 30 s): connections opened together are not closed together but over
    // seconds. Without jitter they would all end within the moment they were opened in. (How many end
    // within one second depends on the machine's load as much as on the jitter: a diagnostic only.)
    const ends = [...firstEnd.values()].sort((a, b) => a - b);
    assert.equal(ends.length, proxies, 'every first connection ended');
    const spreadS = ((ends.at(-1) as number) - (ends[0] as number)) / 1000;
    const mostInOneSecond = Math.max(...ends.map((t0) => ends.filter((t) => t >= t0 && t < t0 + 1000).length));
    t.diagnostic(`first connections ended over ${spreadS.toFixed(1)} s, at most ${mostInOneSecond} of ${proxies} within one second`);
    assert.ok(spreadS >= 2, `the first connections ended over ${spreadS.toFixed(1)} s: at least 2 s of the ±3 s jitter`);
  });
});
