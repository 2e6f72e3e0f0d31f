// The fleet simulator against go-control-plane's own ADS server (xds-reference, tools/xds-go) over
// mTLS, with each engine (node: simulator.ts; go: tools/xds-go/cmd/xds-fleet): a few hundred proxies
// connect and ACK, follow a change, NACK by rule, reconnect after the server is killed and started
// again, and a proxy without a certificate is refused. The node engine's proxies hold what passes the
// independent Envoy check; the go engine's end in the same statuses as the node engine's. The options
// the go engine does not support are refused before anything starts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Proxy } from '@osm/mesh-model';
import { TYPE_URLS, type Snapshot } from '@osm/xds-snapshot';
import { checkEnvoyResources, eventually, FleetError, formatEnvoyProblems, startFleet, startXdsReference, type Fleet, type FleetEngine, type ProxyStatus, type SimulatedProxySpec, type XdsReference } from '../src/index.ts';
import { bookstoreModel, bookstoreProxies, changedProxies, holds, holdsAll, meshPki, proxySpecs, roleOf, Snapshots, type MeshPki } from './fleet-mesh.ts';

const N = 240;
const roles = ['bookbuyer', 'bookstore', 'bookwarehouse'] as const;

let pki: MeshPki;
let proxies: Proxy[];
let specs: SimulatedProxySpec[];
let closed: Map<string, Snapshot>;
let opened: Map<string, Snapshot>;

/** One snapshot object per role (the reference server writes each distinct object once). */
const byRole = (snapshots: Map<string, Snapshot>): Map<string, Snapshot> => {
  const first = new Map(roles.map((role) => [role, snapshots.get((proxies.find((p) => roleOf(p) === role) as Proxy).uuid) as Snapshot]));
  return new Map(proxies.map((p) => [p.uuid, first.get(roleOf(p)) as Snapshot]));
};
const start = (snapshots: Map<string, Snapshot>, port?: number) =>
  startXdsReference({ certPem: pki.server.cert, keyPem: pki.server.key, caPem: pki.rootPem, snapshots: { nodes: snapshots }, port });

// The same certificates and snapshots for both engines, so that their statuses compare.
before(async () => {
  pki = await meshPki();
  proxies = bookstoreProxies(N);
  specs = await proxySpecs(pki, proxies);
  const builder = new Snapshots(pki);
  closed = byRole(await builder.build(bookstoreModel(proxies)));
  opened = byRole(await builder.build(bookstoreModel(proxies, { open: true })));
});

/** What must be equal between the engines: per type (in subscription order) version, names, subscription, ACKed. */
const comparable = (s: ProxyStatus): unknown => ({
  connected: s.connected,
  nacks: s.nacks,
  replica: s.replica,
  types: Object.entries(s.types).map(([url, t]) => ({ url, version: t.version, names: t.names, subscribed: t.subscribed, acked: t.ackedAt !== undefined, nacks: t.nacks })),
});
/** The node engine's statuses once every proxy held the closed config (the node suite runs first). */
const nodeStatuses = new Map<string, unknown>();

for (const engine of ['node', 'go'] as const satisfies readonly FleetEngine[]) {
  describe(`fleet simulator, ${engine} engine, against go-control-plane (xds-reference), 240 proxies in 2 processes`, () => {
    let server: XdsReference;
    let fleet: Fleet;

    before(async () => {
      server = await start(closed);
      fleet = await startFleet({
        engine,
        servers: [server.address],
        rootPem: pki.rootPem,
        proxies: specs,
        processes: 2,
        keepResources: engine === 'node',
        backoff: { baseMs: 100, maxMs: 1000 },
        // In ADS mode go-control-plane answers SDS only once the request names every secret of the
        // snapshot, and Envoy names the listeners' secrets only after LDS, which waits for the clusters'
        // secrets: Envoy gets past this by its initial fetch timeout (15 s by default), as here.
        initialFetchTimeoutMs: 500,
      });
    });

    after(async () => {
      await fleet?.stop();
      await server?.stop();
    });

    it('every proxy connects, ACKs and holds its snapshot', async () => {
      const statuses = await fleet.waitFor('every proxy to hold its snapshot', holdsAll(closed, false), 120_000);
      assert.ok(statuses.every((s) => s.connected && s.nacks === 0 && s.connects === 1));
      assert.deepEqual(new Set(statuses.map((s) => s.process)), new Set([0, 1]));
      if (engine === 'node') {
        for (const s of statuses) nodeStatuses.set(s.uuid, comparable(s));
        for (const role of roles) {
          const uuid = (proxies.find((p) => roleOf(p) === role) as Proxy).uuid;
          const report = await checkEnvoyResources(Object.values(await fleet.resources(uuid)).flat());
          assert.ok(report.ok, `${role}: ${formatEnvoyProblems(report.problems)}`);
        }
      } else {
        // Held resources are the node engine's to check (the go engine keeps none): the same statuses say the same config.
        assert.equal(nodeStatuses.size, N, 'the node engine suite ran first');
        for (const s of statuses) assert.deepEqual(comparable(s), nodeStatuses.get(s.uuid), s.uuid);
      }
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

    it('a NACK rule (proxy, type, resource-name pattern) rejects a change for one proxy, which keeps its config', async () => {
      const victim = (proxies.find((p) => roleOf(p) === 'bookbuyer') as Proxy).uuid;
      const held = fleet.status(victim)?.types[TYPE_URLS.clusters];
      const escaped = (held?.names[0] ?? '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      await fleet.setNackRules([{ proxies: [victim], typeUrl: TYPE_URLS.clusters, resourceName: `^(no-such-cluster|${escaped})$`, detail: 'simulated rejection' }]);
      await server.replaceSnapshots({ nodes: closed });
      // go-control-plane answers a NACK with the same version again (its cache answers every request
      // whose version is not current), so the victim NACKs more than once.
      await fleet.waitFor('the others back on the closed config, the victim NACKing', (st) =>
        st.every((s) => (s.uuid === victim ? (s.types[TYPE_URLS.clusters]?.nacks ?? 0) >= 1 : holds(s, closed.get(s.uuid), false))),
      120_000);
      const cds = fleet.status(victim)?.types[TYPE_URLS.clusters];
      assert.deepEqual([cds?.version, cds?.names, cds?.lastNack], [held?.version, held?.names, 'simulated rejection']);
      await fleet.setNackRules([]);
    });

    it('reconnects after the server is killed and started again, and ends on the same versions', async () => {
      const victim = (proxies.find((p) => roleOf(p) === 'bookbuyer') as Proxy).uuid;
      // The last push was waited for by names: its other types (versions only) may still be arriving.
      await eventually('no response for 500 ms', async () => {
        await fleet.sync();
        return fleet.statuses().every((s) => (s.lastResponseAt ?? 0) < fleet.now() - 500);
      });
      const before = new Map(fleet.statuses().map((s) => [s.uuid, s]));
      const port = server.port;
      process.kill(server.pid, 'SIGKILL');
      await server.stop();
      await fleet.waitFor('every proxy disconnected', (st) => st.every((s) => !s.connected && s.lastError.startsWith('14 ')), 120_000);
      server = await start(closed, port);
      await fleet.waitFor('every proxy back, holding the closed config', (st) => st.every((s) => s.connected && s.connects === 2 && holds(s, closed.get(s.uuid), false)), 120_000);
      await fleet.sync();
      // go-control-plane sends wildcard types again on a new stream (it does not know what the proxy
      // holds), so a reconnect is checked by versions: the same as before. (The proxy that NACKed may
      // have taken the config before the kill, as go-control-plane answers each NACK with it again, or
      // after the reconnect: it holds the closed config, as waited for above.)
      for (const s of fleet.statuses()) {
        if (s.uuid === victim) continue;
        const was = before.get(s.uuid) as ProxyStatus;
        for (const [url, t] of Object.entries(s.types)) assert.equal(t.version, was.types[url]?.version, `${s.uuid} ${url}`);
      }
    });

    it('a proxy without a client certificate is refused (UNAVAILABLE) and retries with backoff, never receiving anything', async () => {
      const refused = await startFleet({ engine, servers: [server.address], rootPem: pki.rootPem, proxies: [{ uuid: '00000000-0000-4000-8000-0000000000aa' }], backoff: { baseMs: 50, maxMs: 200 } });
      try {
        const [s] = await refused.waitFor('a few refused attempts', (st) => (st[0]?.attempts ?? 0) >= 3 && st[0]?.connected === false && st[0]?.lastError !== '');
        assert.match(s?.lastError ?? '', /^14 /);
        assert.equal(s?.lastResponseAt, undefined);
      } finally {
        await refused.stop();
      }
    });
  });
}

describe('fleet simulator, go engine: the options it does not support', () => {
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
