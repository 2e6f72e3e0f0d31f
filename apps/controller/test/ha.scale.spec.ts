// HA scenario "scale-out": a fourth replica joins the Service. Established connections stay where
// they are; with --max-connection-age each connection is recycled at its own deadline (the age ±10 %,
// drawn per connection: GOAWAY, then the grace period for its stream), so the proxies spread over all
// four replicas a few at a time. The deadlines are read from the replicas (/debug/proxies closesAt):
// the test asserts what they are and that the connections kept them, never how long anything took.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ControllerProcess } from '@osm/testing';
import { convergedOn, hasFullConfig, sampleFleet, startHaMesh, versionsWithoutSecrets, type HaMesh } from './ha-mesh.ts';

const MAX_AGE_S = 30;
/** The age's jitter: each connection's deadline is within ±10 % of the age. */
const JITTER = 0.1;
/** grpc-js lets streams run this long after the age's GOAWAY (the ADS server's default grace). */
const GRACE_S = 10;
/**
 * From the grace period's end to the proxy's next stream on a replica: the fleet's reconnect backoff
 * (at most 2 s here), a TLS handshake and the pod lookup, on a machine other tests share.
 */
const RECONNECT_SLACK_S = 10;

/** A proxy's stream as a replica reports it on /debug/proxies. */
interface Connection {
  readonly replica: string;
  readonly uuid: string;
  readonly connectedAt: string;
  readonly closesAt?: string;
}

describe('HA: scale-out with a maximum connection age', () => {
  let ha: HaMesh;
  /** Before any connection was accepted: no deadline can be earlier than this plus the shortest age. */
  let started = 0;
  before(async () => {
    started = Date.now();
    // The fourth replica starts with the others but joins the Service only when the test says so,
    // as a Service adds a pod once it is ready.
    ha = await startHaMesh({ podsPerApp: 4, replicas: 4, inService: 3, controllerArgs: ['--max-connection-age', `${MAX_AGE_S}s`] });
    await ha.fleet.waitFor('every proxy to hold a full config', (ss) => ss.every((s) => s.connected && hasFullConfig(s)));
  });
  after(() => ha?.stop());

  /** Every replica's streams, by proxy uuid (the newest first). */
  async function connections(): Promise<Map<string, Connection[]>> {
    const all = await Promise.all(
      [...ha.replicas].map(async ([replica, c]) => (await c.json<{ proxies: Omit<Connection, 'replica'>[] }>('/debug/proxies')).proxies.map((p) => ({ ...p, replica }))),
    );
    const byUuid = Map.groupBy(all.flat(), (c) => c.uuid);
    for (const list of byUuid.values()) list.sort((a, b) => Date.parse(b.connectedAt) - Date.parse(a.connectedAt));
    return byUuid;
  }

  it('keeps existing connections when a replica joins; each connection has its own deadline within the age ±10 %, keeps it, and the proxies spread over all four', async (t) => {
    const proxies = ha.fleet.statuses().length;
    const initial = new Map(ha.fleet.statuses().map((s) => [s.uuid, JSON.stringify(versionsWithoutSecrets(s))]));
    const [fourth, fourthController] = [...ha.replicas][3] as [string, ControllerProcess];
    const stopSampling = sampleFleet(ha.fleet, (s) => (!hasFullConfig(s) ? 'without a full config' : JSON.stringify(versionsWithoutSecrets(s)) !== initial.get(s.uuid) ? 'versions changed' : undefined));

    // Each proxy's first connection and its deadline, as the replica serving it reports them.
    const first = new Map([...(await connections())].map(([uuid, list]) => [uuid, list[0] as Connection]));
    assert.equal(first.size, proxies, 'every proxy is connected to a replica');
    const ageMs = MAX_AGE_S * 1000;
    const deadlines = [...first.values()].map((c) => {
      assert.ok(c.closesAt, `${c.uuid} on ${c.replica}: the replica reports its connection's deadline`);
      const closesAt = Date.parse(c.closesAt);
      // The connection was accepted after the mesh started and before its stream opened (a stream the
      // replica refused while the pod was not yet in its cache is opened again on the same connection).
      const age = closesAt - Date.parse(c.connectedAt);
      assert.ok(age <= ageMs * (1 + JITTER), `${c.uuid}: deadline ${age} ms after its stream opened, within the age +10 %`);
      assert.ok(closesAt >= started + ageMs * (1 - JITTER), `${c.uuid}: deadline ${closesAt - started} ms after the mesh started, not before the age -10 %`);
      return { closesAt, age };
    });
    // Without a burst: connections opened together get deadlines of their own, spread over the jitter
    // range (a fixed age would put them all within the moment they were opened in).
    assert.equal(new Set(deadlines.map((d) => d.closesAt)).size, proxies, 'every connection has a deadline of its own');
    const ages = deadlines.map((d) => d.age);
    const spreadMs = Math.max(...ages) - Math.min(...ages);
    t.diagnostic(`${proxies} connections: ages from ${Math.min(...ages)} to ${Math.max(...ages)} ms (jitter range ${ageMs * (1 - JITTER)}..${ageMs * (1 + JITTER)} ms)`);
    assert.ok(spreadMs >= ageMs * JITTER, `the ages cover at least half the jitter range (${spreadMs} ms of ${2 * JITTER * ageMs} ms)`);

    ha.fleet.setServers(await ha.addresses());
    await ha.fleet.sync();
    for (const s of ha.fleet.statuses()) {
      assert.equal(s.connects, 1, `${s.uuid} kept its first connection`);
      assert.notEqual(ha.servedBy(s), fourth);
    }
    const onFourth = await fourthController.json<{ proxies: unknown[] }>('/debug/proxies');
    assert.equal(onFourth.proxies.length, 0, 'joining moves no established connection');

    // Every first connection ended (its deadline passed), and the fourth replica took some of them (a
    // proxy picks a replica at random on each reconnect: the wait leaves room for a second round).
    const waitMs = 2 * (MAX_AGE_S * (1 + JITTER) + GRACE_S + RECONNECT_SLACK_S) * 1000;
    const statuses = await ha.fleet.waitFor('every first connection recycled, the fourth replica serving', (ss) => ss.every((s) => s.connected && s.connects >= 2 && hasFullConfig(s)) && ss.some((s) => ha.servedBy(s) === fourth), waitMs);
    assert.deepEqual(stopSampling(), [], 'no proxy lost its config or saw a version change while moving');
    assert.ok(await convergedOn(fourthController, statuses), 'every proxy holds what the fourth replica serves');

    // Each first connection lasted until its deadline: the proxy's next stream (on whichever replica)
    // opened after it. That the server then ends the connection within the grace period is shown by
    // libs/xds-server's grpc test; here it would be a duration on a shared machine.
    const now = await connections();
    for (const s of statuses) {
      const next = now.get(s.uuid)?.[0];
      const deadline = Date.parse((first.get(s.uuid) as Connection).closesAt as string);
      assert.ok(next, `${s.uuid} is connected to a replica`);
      const opened = Date.parse(next.connectedAt);
      assert.ok(opened >= deadline, `${s.uuid}: its next stream opened ${opened - deadline} ms after the first connection's deadline, not before`);
    }
  });
});
