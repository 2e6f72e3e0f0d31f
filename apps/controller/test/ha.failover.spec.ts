// HA scenarios where replicas go away: one replica SIGKILLed while a policy change is in flight, a
// rolling restart (SIGTERM one at a time), every replica gone (the data plane runs headless) and one
// started again. They share the API server, but each starts from its own known state: three replicas
// running, the fleet spread over them, every proxy holding the current config. The fleet always holds
// a config; it ends on the current one.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, trafficTarget, trafficTargetsPath, type ControllerProcess, type ProxyStatus } from '@osm/testing';
import { TYPE_URLS } from '@osm/xds-snapshot';
import { convergedOn, hasFullConfig, sampleFleet, startHaMesh, versionsWithoutSecrets, type HaMesh } from './ha-mesh.ts';

const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb924'; // the version of an empty resource set
const running = (c: ControllerProcess): boolean => c.child.exitCode === null && c.child.signalCode === null;
/** CDS and LDS hold an accepted version (a type subscribed to only now has none until its first response). */
const holdsConfig = (s: ProxyStatus): boolean => Boolean(s.types[TYPE_URLS.clusters]?.version && s.types[TYPE_URLS.listeners]?.version);

describe('HA: replicas lost, restarted, all gone', () => {
  let ha: HaMesh;
  before(async () => {
    ha = await startHaMesh({ podsPerApp: 3, replicas: 3 });
    await ha.fleet.waitFor('every proxy to hold a full config', (ss) => ss.every((s) => s.connected && hasFullConfig(s)));
  });
  after(() => ha?.stop());

  const live = (): [string, ControllerProcess][] => [...ha.replicas].filter(([, c]) => running(c));
  /**
   * Each scenario's start: three replicas running (new ones replace those a scenario stopped) and the
   * fleet spread over them as a Service would spread new connections, every proxy holding what the
   * replicas serve now. A fleet already connected to three replicas is kept (the first scenario's).
   */
  async function threeReplicas(): Promise<void> {
    while (live().length < 3) await (await ha.startReplica()).controller.ready();
    const ids = live().map(([id]) => id);
    assert.equal(ids.length, 3);
    const spread = ha.fleet.statuses().every((s) => s.connected && ids.includes(ha.servedBy(s)) && hasFullConfig(s)) && new Set(ha.fleet.statuses().map((s) => ha.servedBy(s))).size === 3;
    if (!spread) {
      await ha.fleet.stop(2000);
      await ha.startFleet(await ha.addresses());
    }
    await ha.fleet.waitFor('every proxy on one of three replicas with a full config', (ss) => ss.every((s) => s.connected && ids.includes(ha.servedBy(s)) && hasFullConfig(s)), 60_000);
    const [, first] = live()[0] ?? [];
    assert.ok(first);
    await eventually('every proxy holds what the replicas serve now', async () => convergedOn(first, ha.fleet.statuses()), 60_000);
  }
  const thieves = (ss: readonly ProxyStatus[]): ProxyStatus[] => ss.filter((s) => ha.pod(s.uuid).app === 'bookthief');

  it('replica loss: SIGKILL one replica while a policy change is in flight; its proxies move to the survivors and all converge on the new config', async () => {
    await threeReplicas();
    const before = ha.fleet.statuses();
    for (const s of thieves(before)) assert.equal(s.types[TYPE_URLS.clusters]?.version, EMPTY, 'bookthief may call nothing yet');
    const counts = Map.groupBy(before, (s) => ha.servedBy(s));
    const [victimId] = [...counts].sort((a, b) => b[1].length - a[1].length)[0] ?? [];
    assert.ok(victimId);
    const victim = ha.replicas.get(victimId) as ControllerProcess;
    const moved = (counts.get(victimId) ?? []).map((s) => s.uuid);
    assert.ok(moved.length > 0, `${victimId} serves proxies`);
    // While the change arrives a proxy may ask for names and types it does not hold yet (Envoy's warming); it must never lack its clusters and listeners.
    const stopSampling = sampleFleet(ha.fleet, (s) => (holdsConfig(s) ? undefined : 'without a config'));

    // bookthief may now buy books: a change for bookthief's and bookstore's proxies.
    await ha.rest.create(trafficTargetsPath('bookstore'), trafficTarget('bookstore', 'bookstore-thief', [{ ns: 'bookthief', sa: 'bookthief' }], 'bookstore-service-routes', 'bookstore'));
    assert.equal(await victim.stop('SIGKILL'), 'SIGKILL');
    // The Service's endpoints drop the dead pod: new connections go to the survivors.
    ha.fleet.setServers(await ha.addresses());
    const [survivorId, survivor] = live()[0] ?? [];
    assert.ok(survivorId && survivor);

    const statuses = await ha.fleet.waitFor('every proxy on a survivor with the new bookthief config', (ss) => ss.every((s) => s.connected && ha.servedBy(s) !== victimId && hasFullConfig(s)) && thieves(ss).every((s) => s.types[TYPE_URLS.clusters]?.version !== EMPTY), 90_000);
    await eventually('every proxy holds what the survivors serve now', async () => convergedOn(survivor, ha.fleet.statuses()), 60_000);
    assert.deepEqual(stopSampling(), [], 'no proxy was ever without a full config');
    for (const uuid of moved) {
      const s = statuses.find((x) => x.uuid === uuid) as ProxyStatus;
      assert.ok(s.connects >= 2, `${uuid} reconnected`);
      assert.notEqual(ha.servedBy(s), victimId);
    }
    for (const s of thieves(statuses)) assert.ok((s.types[TYPE_URLS.routes]?.names.length ?? 0) > 0, 'bookthief got routes to bookstore');
    assert.equal(new Set(Map.groupBy(statuses.filter((s) => ha.pod(s.uuid).app === 'bookthief'), (s) => JSON.stringify(versionsWithoutSecrets(s))).keys()).size, 1, 'every bookthief proxy holds the same config');
  });

  it('rolling restart: SIGTERM one replica at a time, its replacement ready first; every proxy always holds its full ACKed config, unchanged', async () => {
    await threeReplicas();
    const initial = new Map(ha.fleet.statuses().map((s) => [s.uuid, JSON.stringify(versionsWithoutSecrets(s))]));
    // The config does not change during the restart, so neither may any proxy's versions (content hashes).
    const stopSampling = sampleFleet(ha.fleet, (s) => (!hasFullConfig(s) ? 'without a full config' : JSON.stringify(versionsWithoutSecrets(s)) !== initial.get(s.uuid) ? `versions changed to ${JSON.stringify(versionsWithoutSecrets(s))}` : undefined));
    const old = live();
    assert.equal(old.length, 3);
    const replacements: string[] = [];
    for (const [id, controller] of old) {
      const next = await ha.startReplica();
      await next.controller.ready();
      replacements.push(next.id);
      const leaving = await controller.adsAddress();
      ha.fleet.setServers((await ha.addresses()).filter((a) => a !== leaving));
      assert.equal(await controller.stop('SIGTERM'), 0, `${id} drained and exited 0`);
      await ha.fleet.waitFor(`the proxies of ${id} to reconnect`, (ss) => ss.every((s) => s.connected && ha.servedBy(s) !== id && hasFullConfig(s)), 60_000);
    }
    assert.deepEqual(stopSampling(), [], 'no proxy lost a type or saw a version change');
    const statuses = ha.fleet.statuses();
    for (const s of statuses) assert.ok(replacements.includes(ha.servedBy(s)), `${s.uuid} is served by a new replica (${ha.servedBy(s)})`);
    const [, fresh] = live()[0] ?? [];
    assert.ok(fresh);
    assert.ok(await convergedOn(fresh, statuses));
  });

  it('headless: with every replica gone the proxies keep their config and retry; one replica back, all reconnect and converge', async () => {
    await threeReplicas();
    const held = new Map(ha.fleet.statuses().map((s) => [s.uuid, JSON.stringify(versionsWithoutSecrets(s))]));
    const stopSampling = sampleFleet(ha.fleet, (s) => (!hasFullConfig(s) ? 'without a full config' : JSON.stringify(versionsWithoutSecrets(s)) !== held.get(s.uuid) ? 'versions changed' : undefined));
    for (const [id, c] of live()) assert.equal(await c.stop('SIGTERM'), 0, `${id} exited 0`);
    const down = await ha.fleet.waitFor('every proxy to notice', (ss) => ss.every((s) => !s.connected));
    // Retrying (against the addresses the Service last had), with backoff, holding the last config.
    await ha.fleet.waitFor('every proxy to retry twice more', (ss) => ss.every((s) => s.attempts >= (down.find((d) => d.uuid === s.uuid)?.attempts ?? 0) + 2), 60_000);
    for (const s of ha.fleet.statuses()) {
      assert.equal(s.connected, false);
      assert.match(s.lastError, /^14 /, `${s.uuid}: UNAVAILABLE (${s.lastError})`);
    }

    const back = await ha.startReplica();
    ha.fleet.setServers([back.address]);
    const statuses = await ha.fleet.waitFor('every proxy on the new replica', (ss) => ss.every((s) => s.connected && ha.servedBy(s) === back.id && hasFullConfig(s)), 90_000);
    assert.deepEqual(stopSampling(), [], 'no proxy lost its config while headless or on reconnect');
    assert.ok(await convergedOn(back.controller, statuses));
  });
});
