// The fleet simulator's go engine (tools/xds-go/cmd/xds-fleet) against go-control-plane's own ADS
// server (xds-reference) over mTLS: its proxies end in the same per-proxy statuses as the node
// engine's, follow a change, NACK by rule, reconnect after the server restarts, report a refused
// stream; and the options it does not support are refused before anything starts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Proxy } from '@osm/mesh-model';
import { TYPE_URLS, type Snapshot } from '@osm/xds-snapshot';
import { FleetError, startFleet, startXdsReference, type Fleet, type FleetOptions, type ProxyStatus, type XdsReference } from '../src/index.ts';
import { bookstoreModel, bookstoreProxies, changedProxies, holds, holdsAll, meshPki, proxySpecs, roleOf, Snapshots, type MeshPki } from './fleet-mesh.ts';
import type { SimulatedProxySpec } from '../src/index.ts';

const N = 150;
const roles = ['bookbuyer', 'bookstore', 'bookwarehouse'] as const;

/** What must be equal between the engines: per type (in subscription order) version, names, subscription, ACKed. */
const comparable = (s: ProxyStatus): unknown => ({
  connected: s.connected,
  nacks: s.nacks,
  replica: s.replica,
  types: Object.entries(s.types).map(([url, t]) => ({ url, version: t.version, names: t.names, subscribed: t.subscribed, acked: t.ackedAt !== undefined, nacks: t.nacks })),
});

describe('fleet simulator, go engine, against go-control-plane (xds-reference), 150 proxies in 2 processes', () => {
  let pki: MeshPki;
  let proxies: Proxy[];
  let specs: SimulatedProxySpec[];
  let closed: Map<string, Snapshot>;
  let opened: Map<string, Snapshot>;
  let server: XdsReference;
  let fleet: Fleet;

  /** One snapshot object per role (the reference server writes each distinct object once). */
  const byRole = (snapshots: Map<string, Snapshot>): Map<string, Snapshot> => {
    const first = new Map(roles.map((role) => [role, snapshots.get((proxies.find((p) => roleOf(p) === role) as Proxy).uuid) as Snapshot]));
    return new Map(proxies.map((p) => [p.uuid, first.get(roleOf(p)) as Snapshot]));
  };
  const start = (snapshots: Map<string, Snapshot>, port?: number) =>
    startXdsReference({ certPem: pki.server.cert, keyPem: pki.server.key, caPem: pki.rootPem, snapshots: { nodes: snapshots }, port });
  const options = (engine: 'node' | 'go'): FleetOptions => ({
    engine,
    servers: [server.address],
    rootPem: pki.rootPem,
    proxies: specs,
    processes: 2,
    backoff: { baseMs: 100, maxMs: 1000 },
    // go-control-plane answers SDS in ADS mode only once every secret is named (see fleet-reference.spec.ts).
    initialFetchTimeoutMs: 500,
  });

  before(async () => {
    pki = await meshPki();
    proxies = bookstoreProxies(N);
    specs = await proxySpecs(pki, proxies);
    const builder = new Snapshots(pki);
    closed = byRole(await builder.build(bookstoreModel(proxies)));
    opened = byRole(await builder.build(bookstoreModel(proxies, { open: true })));
    server = await start(closed);
  });

  after(async () => {
    await fleet?.stop();
    await server?.stop();
  });

  it('every proxy ends in the same status as with the node engine: types, versions, names, subscriptions, ACKed', async () => {
    const node = await startFleet(options('node'));
    let expected: Map<string, unknown>;
    try {
      const statuses = await node.waitFor('node engine: every proxy to hold its snapshot', holdsAll(closed, false), 120_000);
      expected = new Map(statuses.map((s) => [s.uuid, comparable(s)]));
    } finally {
      await node.stop();
    }
    fleet = await startFleet(options('go'));
    const statuses = await fleet.waitFor('go engine: every proxy to hold its snapshot', holdsAll(closed, false), 120_000);
    await fleet.sync();
    assert.equal(statuses.length, N);
    assert.deepEqual(new Set(fleet.statuses().map((s) => s.process)), new Set([0, 1]));
    for (const s of fleet.statuses()) assert.deepEqual(comparable(s), expected.get(s.uuid), s.uuid);
    assert.ok(fleet.statuses().every((s) => s.connects === 1 && s.types[TYPE_URLS.listeners]?.ackedAt !== undefined));
  });

  it('follows a change: the affected proxies take it, the others receive nothing', async () => {
    const affected = changedProxies(closed, opened);
    assert.ok(affected.size > 0 && affected.size < N);
    const t0 = fleet.now();
    await server.replaceSnapshots({ nodes: opened });
    await fleet.waitFor('the affected proxies to hold the change', (st) => st.every((s) => !affected.has(s.uuid) || holds(s, opened.get(s.uuid), false)), 120_000);
    await fleet.sync();
    for (const s of fleet.statuses()) {
      if (affected.has(s.uuid)) assert.ok((s.lastAckAt ?? 0) > t0, `${s.uuid} ACKed the change`);
      else assert.ok((s.lastResponseAt ?? 0) < t0, `${s.uuid} received nothing`);
    }
  });

  it('a NACK rule (by proxy, type and a resource-name pattern) rejects a change for one proxy, which keeps its config', async () => {
    const victim = (proxies.find((p) => roleOf(p) === 'bookbuyer') as Proxy).uuid;
    const held = fleet.status(victim)?.types[TYPE_URLS.clusters];
    const name = held?.names[0] ?? '';
    const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    await fleet.setNackRules([{ proxies: [victim], typeUrl: TYPE_URLS.clusters, resourceName: `^(no-such-cluster|${escaped})$`, detail: 'simulated rejection' }]);
    await server.replaceSnapshots({ nodes: closed });
    await fleet.waitFor('the others back on the closed config, the victim NACKing', (st) =>
      st.every((s) => (s.uuid === victim ? (s.types[TYPE_URLS.clusters]?.nacks ?? 0) >= 1 : holds(s, closed.get(s.uuid), false))),
    120_000);
    const cds = fleet.status(victim)?.types[TYPE_URLS.clusters];
    assert.deepEqual([cds?.version, cds?.names, cds?.lastNack], [held?.version, held?.names, 'simulated rejection']);
    await fleet.setNackRules([]);
    await assert.rejects(fleet.setNackRules([{ resourceName: '^(?!x)' }]), (err: FleetError) => err.code === 'InvalidOptions' && /engine 'go' \(RE2\)/.test(err.message));
  });

  it('reconnects after the server is killed and started again, and ends on the same versions', async () => {
    const victim = (proxies.find((p) => roleOf(p) === 'bookbuyer') as Proxy).uuid;
    const before = new Map(fleet.statuses().map((s) => [s.uuid, s]));
    const port = server.port;
    process.kill(server.pid, 'SIGKILL');
    await server.stop();
    await fleet.waitFor('every proxy disconnected', (st) => st.every((s) => !s.connected && s.lastError.startsWith('14 ')), 120_000);
    server = await start(closed, port);
    await fleet.waitFor('every proxy back, holding the closed config', (st) => st.every((s) => s.connected && s.connects === 2 && holds(s, closed.get(s.uuid), false)), 120_000);
    await fleet.sync();
    for (const s of fleet.statuses()) {
      if (s.uuid === victim) continue;
      const was = before.get(s.uuid) as ProxyStatus;
      for (const [url, t] of Object.entries(s.types)) assert.equal(t.version, was.types[url]?.version, `${s.uuid} ${url}`);
    }
  });

  it('a proxy without a client certificate is refused and retries with backoff, never receiving anything', async () => {
    const refused = await startFleet({ engine: 'go', servers: [server.address], rootPem: pki.rootPem, proxies: [{ uuid: '00000000-0000-4000-8000-0000000000aa' }], backoff: { baseMs: 50, maxMs: 200 } });
    try {
      const [s] = await refused.waitFor('a few refused attempts', (st) => (st[0]?.attempts ?? 0) >= 3 && st[0]?.connected === false && st[0]?.lastError !== '');
      assert.match(s?.lastError ?? '', /^14 /, 'UNAVAILABLE');
      assert.equal(s?.lastResponseAt, undefined);
    } finally {
      await refused.stop();
    }
  });
});

describe('fleet simulator, go engine, options it does not support', () => {
  const base = { engine: 'go', servers: ['127.0.0.1:1'], rootPem: '-----BEGIN CERTIFICATE-----', proxies: [{ uuid: 'a' }] } as const;
  for (const [what, extra, pattern] of [
    ['delta', { mode: 'delta' }, /mode 'delta' is not supported by engine 'go'/],
    ['keepResources', { keepResources: true }, /keepResources is not supported by engine 'go'/],
    ['nodeOptions', { nodeOptions: ['--cpu-prof'] }, /nodeOptions apply to engine 'node' only/],
    ['a lookahead NACK pattern', { nackRules: [{ resourceName: 'a(?=b)' }] }, /nackRules\[0\]\.resourceName .* engine 'go' \(RE2\)/],
  ] as const) {
    it(`refuses ${what} with InvalidOptions, before starting anything`, async () => {
      await assert.rejects(startFleet({ ...base, ...extra }), (err: FleetError) => err instanceof FleetError && err.code === 'InvalidOptions' && pattern.test(err.message));
    });
  }
});
