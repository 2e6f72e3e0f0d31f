// The fleet simulator against a real gRPC server over real mTLS, in real child processes.
//
// The server here is a STAND-IN: a small grpc-js ADS server in this file that serves fixed
// @osm/xds-snapshot snapshots (no identity checks beyond the client certificate chain, no queues, no
// metrics). It is not the controller (apps/controller) and not the go-control-plane reference
// (tools/xds-go); it exists so that the simulator is tested before those land.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Server, ServerCredentials, type ServerDuplexStream } from '@grpc/grpc-js';
import { envoy } from '@osm/envoy-api';
import type { Proxy } from '@osm/mesh-model';
import { RESOURCE_TYPES, TYPE_URLS, type ResourceType, type Snapshot } from '@osm/xds-snapshot';
import { eventually, startFleet, type Fleet, type ProxyStatus } from '../src/index.ts';
import { bookstoreModel, bookstoreProxies, changedProxies, holds, holdsAll, meshPki, proxySpecs, roleOf, Snapshots, WILDCARD, type MeshPki } from './fleet-mesh.ts';

const { AggregatedDiscoveryServiceService, DiscoveryResponse, DeltaDiscoveryResponse } = envoy.service.discovery.v3;
type DiscoveryRequest = envoy.service.discovery.v3.DiscoveryRequest;
type DeltaDiscoveryRequest = envoy.service.discovery.v3.DeltaDiscoveryRequest;

const typeOf = new Map(RESOURCE_TYPES.map((t) => [TYPE_URLS[t], t]));

interface LoggedRequest {
  readonly uuid: string;
  readonly typeUrl: string;
  readonly version: string;
  readonly nonce: string;
  readonly names: readonly string[];
  readonly initialVersions: Readonly<Record<string, string>>;
  readonly error: string | undefined;
  readonly stream: number;
  readonly node: boolean;
}

/** STAND-IN ADS server (see the file comment): SotW and delta, a response only when something changed. */
class StandInAdsServer {
  readonly replica: string;
  readonly requests: LoggedRequest[] = [];
  readonly #pki: MeshPki;
  #snapshots: ReadonlyMap<string, Snapshot>;
  readonly #pushes = new Set<() => void>();
  #server: Server | undefined;
  #streams = 0;
  open = 0;
  port = 0;

  constructor(pki: MeshPki, snapshots: ReadonlyMap<string, Snapshot>, replica: string) {
    this.#pki = pki;
    this.#snapshots = snapshots;
    this.replica = replica;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    // Channelz stays on: grpc-js 1.14.7's forceShutdown() only destroys the sessions channelz tracks.
    const server = new Server();
    server.addService(AggregatedDiscoveryServiceService, {
      streamAggregatedResources: (call: ServerDuplexStream<DiscoveryRequest, envoy.service.discovery.v3.DiscoveryResponse>) => this.#sotw(call),
      deltaAggregatedResources: (call: ServerDuplexStream<DeltaDiscoveryRequest, envoy.service.discovery.v3.DeltaDiscoveryResponse>) => this.#delta(call),
    });
    const creds = ServerCredentials.createSsl(Buffer.from(this.#pki.rootPem), [{ cert_chain: Buffer.from(this.#pki.server.cert), private_key: Buffer.from(this.#pki.server.key) }], true);
    this.port = await new Promise<number>((resolve, reject) => server.bindAsync(`127.0.0.1:${this.port}`, creds, (err, port) => (err ? reject(err) : resolve(port))));
    this.#server = server;
  }

  /** Like a crash: every connection closes at once. */
  kill(): void {
    this.#server?.forceShutdown();
    this.#server = undefined;
    this.#pushes.clear();
    this.open = 0;
  }

  set(snapshots: ReadonlyMap<string, Snapshot>): void {
    this.#snapshots = snapshots;
    for (const push of this.#pushes) push();
  }

  #resources(uuid: string, typeUrl: string, names: ReadonlySet<string> | undefined) {
    const set = this.#snapshots.get(uuid)?.types[typeOf.get(typeUrl) as ResourceType];
    const resources = [...(set?.resources.values() ?? [])].filter((r) => !names || names.has(r.name));
    return { version: set?.version ?? '', resources };
  }

  #tracked<T>(call: ServerDuplexStream<T, unknown>, onRequest: (req: T, stream: number) => void, push: () => void): void {
    const stream = ++this.#streams;
    this.open++;
    this.#pushes.add(push);
    const end = (): void => {
      if (this.#pushes.delete(push)) this.open--;
    };
    call.on('data', (req: T) => onRequest(req, stream));
    call.on('end', () => {
      end();
      call.end();
    });
    call.on('error', end);
    call.on('cancelled', end);
  }

  #sotw(call: ServerDuplexStream<DiscoveryRequest, envoy.service.discovery.v3.DiscoveryResponse>): void {
    let uuid = '';
    let nonce = 0;
    const subscribed = new Map<string, ReadonlySet<string> | undefined>();
    const sent = new Map<string, string>();
    const respond = (typeUrl: string): void => {
      const names = subscribed.get(typeUrl);
      const { version, resources } = this.#resources(uuid, typeUrl, names);
      const key = `${version}|${resources.map((r) => r.name).join(',')}`;
      if (sent.get(typeUrl) === key) return;
      sent.set(typeUrl, key);
      call.write(
        DiscoveryResponse.fromPartial({ versionInfo: version, typeUrl, nonce: String(++nonce), controlPlane: { identifier: this.replica }, resources: resources.map((r) => ({ typeUrl, value: r.bytes })) }),
      );
    };
    this.#tracked(
      call,
      (req, stream) => {
        if (req.node) uuid = req.node.id;
        this.requests.push({ uuid, typeUrl: req.typeUrl, version: req.versionInfo, nonce: req.responseNonce, names: req.resourceNames, initialVersions: {}, error: req.errorDetail?.message, stream, node: req.node !== undefined });
        if (req.errorDetail) return;
        const names = WILDCARD.has(req.typeUrl) ? undefined : new Set(req.resourceNames);
        subscribed.set(req.typeUrl, names);
        // A proxy (re)connecting with what is current gets nothing.
        if (!sent.has(req.typeUrl)) {
          const { version, resources } = this.#resources(uuid, req.typeUrl, names);
          if (req.versionInfo === version) sent.set(req.typeUrl, `${version}|${resources.map((r) => r.name).join(',')}`);
        }
        respond(req.typeUrl);
      },
      () => [...subscribed.keys()].forEach(respond),
    );
  }

  #delta(call: ServerDuplexStream<DeltaDiscoveryRequest, envoy.service.discovery.v3.DeltaDiscoveryResponse>): void {
    let uuid = '';
    let nonce = 0;
    const subscribed = new Map<string, Set<string> | undefined>();
    const sent = new Map<string, Map<string, string>>();
    const respond = (typeUrl: string): void => {
      const names = subscribed.get(typeUrl);
      const { version, resources } = this.#resources(uuid, typeUrl, names);
      const had = sent.get(typeUrl) ?? new Map<string, string>();
      const changed = resources.filter((r) => had.get(r.name) !== r.version);
      const current = new Set(resources.map((r) => r.name));
      const removed = [...had.keys()].filter((n) => !current.has(n));
      if (changed.length === 0 && removed.length === 0) return;
      sent.set(typeUrl, new Map(resources.map((r) => [r.name, r.version])));
      call.write(
        DeltaDiscoveryResponse.fromPartial({
          systemVersionInfo: version,
          typeUrl,
          nonce: String(++nonce),
          controlPlane: { identifier: this.replica },
          resources: changed.map((r) => ({ name: r.name, version: r.version, resource: { typeUrl, value: r.bytes } })),
          removedResources: removed,
        }),
      );
    };
    this.#tracked(
      call,
      (req, stream) => {
        if (req.node) uuid = req.node.id;
        this.requests.push({ uuid, typeUrl: req.typeUrl, version: '', nonce: req.responseNonce, names: req.resourceNamesSubscribe, initialVersions: req.initialResourceVersions, error: req.errorDetail?.message, stream, node: req.node !== undefined });
        if (req.errorDetail) return;
        if (!subscribed.has(req.typeUrl)) {
          subscribed.set(req.typeUrl, WILDCARD.has(req.typeUrl) && req.resourceNamesSubscribe.length === 0 ? undefined : new Set());
          sent.set(req.typeUrl, new Map(Object.entries(req.initialResourceVersions)));
        }
        const names = subscribed.get(req.typeUrl);
        for (const n of req.resourceNamesSubscribe) names?.add(n);
        for (const n of req.resourceNamesUnsubscribe) {
          names?.delete(n);
          sent.get(req.typeUrl)?.delete(n);
        }
        respond(req.typeUrl);
      },
      () => [...subscribed.keys()].forEach(respond),
    );
  }
}

for (const engine of ['node', 'go'] as const) {
  describe(`fleet simulator, ${engine} engine, against a stand-in ADS server (SotW, mTLS, 2 processes)`, () => {
    const N = 60;
    let pki: MeshPki;
    let proxies: Proxy[];
    let builder: Snapshots;
    let closed: Map<string, Snapshot>;
    let opened: Map<string, Snapshot>;
    let a: StandInAdsServer;
    let b: StandInAdsServer;
    let fleet: Fleet;

    before(async () => {
      pki = await meshPki();
      proxies = bookstoreProxies(N);
      builder = new Snapshots(pki);
      closed = await builder.build(bookstoreModel(proxies));
      opened = await builder.build(bookstoreModel(proxies, { open: true }));
      a = new StandInAdsServer(pki, closed, 'stand-in-a');
      b = new StandInAdsServer(pki, closed, 'stand-in-b');
      await a.start();
      await b.start();
      fleet = await startFleet({ engine, servers: [a.address, b.address], rootPem: pki.rootPem, proxies: await proxySpecs(pki, proxies), processes: 2, keepResources: engine === 'node', backoff: { baseMs: 100, maxMs: 1000 } });
    });

    after(async () => {
      await fleet?.stop();
      a?.kill();
      b?.kill();
    });

    it('connects every proxy, spread over both servers, and each holds exactly its snapshot', async () => {
      const statuses = await fleet.waitFor('every proxy to hold its snapshot', holdsAll(closed));
      assert.equal(new Set(fleet.pids()).size, 2);
      assert.ok(statuses.every((s) => s.connected && s.connects === 1 && s.nacks === 0 && s.replica === (s.server === a.address ? 'stand-in-a' : 'stand-in-b')));
      assert.deepEqual(new Set(statuses.map((s) => s.replica)), new Set(['stand-in-a', 'stand-in-b']));
      // The bytes held are the bytes served (the go engine keeps none).
      for (const role of engine === 'node' ? ['bookbuyer', 'bookstore', 'bookwarehouse'] : []) {
        const uuid = (proxies.find((p) => roleOf(p) === role) as Proxy).uuid;
        const held = await fleet.resources(uuid);
        const snapshot = closed.get(uuid) as Snapshot;
        const names = (t: ResourceType) => new Set(fleet.status(uuid)?.types[TYPE_URLS[t]]?.names);
        for (const t of RESOURCE_TYPES) {
          const want = [...snapshot.types[t].resources.values()].filter((r) => names(t).has(r.name)).map((r) => [r.name, Buffer.from(r.bytes).toString('base64')]).sort();
          const got = (held[TYPE_URLS[t]] ?? []).map((r) => [r.name, Buffer.from(r.bytes).toString('base64')]).sort();
          assert.deepEqual(got, want, `${role} ${t}`);
        }
      }
    });

    it('sends the node only on the first request of a stream and subscribes LDS after the clusters are warm', () => {
      const uuid = proxies[0]?.uuid as string;
      const mine = [...a.requests, ...b.requests].filter((r) => r.uuid === uuid);
      assert.equal(mine[0]?.typeUrl, TYPE_URLS.clusters);
      assert.deepEqual(mine.map((r) => r.node), mine.map((_, i) => i === 0));
      const firstLds = mine.findIndex((r) => r.typeUrl === TYPE_URLS.listeners);
      const edsAck = mine.findIndex((r) => r.typeUrl === TYPE_URLS.endpoints && r.version !== '');
      assert.ok(edsAck >= 0 && edsAck < firstLds, 'LDS is requested only after EDS was accepted');
    });

    it('a policy change reaches exactly the proxies whose config changed; the others receive nothing', async () => {
      const affected = changedProxies(closed, opened);
      assert.ok(affected.size > 0 && affected.size < N, `some but not all proxies are affected (${affected.size})`);
      const before = new Map(fleet.statuses().map((s) => [s.uuid, s]));
      const t0 = fleet.now();
      a.set(opened);
      b.set(opened);
      await fleet.waitFor('the affected proxies to hold the new config', (statuses) => statuses.every((s) => !affected.has(s.uuid) || holds(s, opened.get(s.uuid))));
      await fleet.sync();
      for (const s of fleet.statuses()) {
        if (affected.has(s.uuid)) {
          assert.ok((s.lastAckAt ?? 0) > t0, `${s.uuid} ACKed after the change`);
          continue;
        }
        const was = before.get(s.uuid) as ProxyStatus;
        assert.ok((s.lastResponseAt ?? 0) < t0, `${s.uuid} received nothing after the change`);
        for (const [url, t] of Object.entries(s.types)) assert.equal(t.nonce, was.types[url]?.nonce, `${s.uuid} ${url} nonce unchanged`);
      }
    });

    it('a NACK rule makes a proxy reject a change and keep its last good config; the others ACK it', async () => {
      const victim = proxies.find((p) => roleOf(p) === 'bookbuyer') as Proxy;
      const held = fleet.status(victim.uuid)?.types[TYPE_URLS.clusters];
      await fleet.setNackRules([{ proxies: [victim.uuid], typeUrl: TYPE_URLS.clusters, resourceName: '^bookstore/', detail: 'simulated rejection' }]);
      a.set(closed);
      b.set(closed);
      const others = (s: ProxyStatus) => s.uuid === victim.uuid || holds(s, closed.get(s.uuid));
      await fleet.waitFor('the NACK and every other proxy back on the closed config', (st) => st.every(others) && fleet.status(victim.uuid)?.types[TYPE_URLS.clusters]?.nacks === 1);
      const cds = fleet.status(victim.uuid)?.types[TYPE_URLS.clusters];
      assert.equal(cds?.version, held?.version, 'the last good CDS version stays');
      assert.deepEqual(cds?.names, held?.names);
      assert.equal(cds?.lastNack, 'simulated rejection');
      const nack = [...a.requests, ...b.requests].find((r) => r.uuid === victim.uuid && r.error !== undefined);
      assert.deepEqual([nack?.typeUrl, nack?.version, nack?.error], [TYPE_URLS.clusters, held?.version, 'simulated rejection']);
      await fleet.setNackRules([]);
    });

    it('follows a change of servers and reconnects after a crash with the versions it holds; nothing is resent', async () => {
      // The proxy that NACKed the last push holds the config before it until a new stream brings it again.
      const victim = proxies.find((p) => roleOf(p) === 'bookbuyer') as Proxy;
      const before = new Map(fleet.statuses().map((s) => [s.uuid, s]));
      const onA = fleet.statuses().filter((s) => s.server === a.address).map((s) => s.uuid);
      assert.ok(onA.length > 0);
      fleet.setServers([b.address]);
      const requestsBefore = b.requests.length;
      a.kill();
      const statuses = await fleet.waitFor('every proxy on server b', (st) => st.every((s) => s.connected && s.server === b.address && (before.get(s.uuid)?.server === b.address || s.connects === 2)));
      for (const uuid of onA) {
        const s = statuses.find((x) => x.uuid === uuid) as ProxyStatus;
        assert.match(s.lastError, /^(1|14) /, 'the stream ended as the server went away');
        if (uuid === victim.uuid) continue;
        // First requests on the new stream carry the versions held and no nonce.
        const firstCds = b.requests.slice(requestsBefore).find((r) => r.uuid === uuid && r.typeUrl === TYPE_URLS.clusters);
        assert.deepEqual([firstCds?.version, firstCds?.nonce], [before.get(uuid)?.types[TYPE_URLS.clusters]?.version, '']);
      }
      await fleet.sync();
      for (const s of fleet.statuses()) {
        if (s.uuid === victim.uuid) continue;
        for (const [url, t] of Object.entries(s.types)) assert.equal(t.responses, before.get(s.uuid)?.types[url]?.responses, `${s.uuid} ${url}: nothing resent`);
      }
    });

    it('a server that restarts on its address gets its proxies back', async () => {
      b.kill();
      await fleet.waitFor('every proxy disconnected', (st) => st.every((s) => !s.connected));
      await b.start();
      await fleet.waitFor('every proxy reconnected, all on the current config', (st) => st.every((s) => s.connected && s.server === b.address && holds(s, closed.get(s.uuid))));
      await eventually('every stream open on the server', () => b.open === N);
    });

    it('stops gracefully: streams closed, processes gone', async () => {
      const pids = fleet.pids();
      await fleet.stop();
      await eventually('the server to see every stream end', () => b.open === 0);
      for (const pid of pids) assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' });
    });
  });
}

describe('fleet simulator, incremental (delta) ADS', () => {
  it('converges, follows a change, and reconnects with initial_resource_versions', async () => {
    const pki = await meshPki();
    const proxies = bookstoreProxies(9);
    const builder = new Snapshots(pki);
    const closed = await builder.build(bookstoreModel(proxies));
    const opened = await builder.build(bookstoreModel(proxies, { open: true }));
    const server = new StandInAdsServer(pki, closed, 'stand-in-delta');
    await server.start();
    const fleet = await startFleet({ servers: [server.address], rootPem: pki.rootPem, proxies: await proxySpecs(pki, proxies), mode: 'delta', backoff: { baseMs: 100, maxMs: 500 } });
    try {
      await fleet.waitFor('every proxy to hold its snapshot', holdsAll(closed, false));
      server.set(opened);
      await fleet.waitFor('every proxy to hold the new snapshot', holdsAll(opened, false));
      const responses = fleet.statuses().map((s) => Object.values(s.types).reduce((n, t) => n + t.responses, 0));
      const before = server.requests.length;
      server.kill();
      await fleet.waitFor('every proxy disconnected', (st) => st.every((s) => !s.connected));
      await server.start();
      await fleet.waitFor('every proxy reconnected', (st) => st.every((s) => s.connected && s.connects === 2));
      await eventually('every proxy to re-send its subscriptions', () => new Set(server.requests.slice(before).filter((r) => r.typeUrl === TYPE_URLS.listeners).map((r) => r.uuid)).size === proxies.length);
      const cds = server.requests.slice(before).find((r) => r.uuid === proxies[0]?.uuid && r.typeUrl === TYPE_URLS.clusters);
      const want = Object.fromEntries([...(opened.get(proxies[0]?.uuid as string)?.types.clusters.resources.values() ?? [])].map((r) => [r.name, r.version]));
      assert.deepEqual(cds?.initialVersions, want);
      await fleet.sync();
      assert.deepEqual(
        fleet.statuses().map((s) => Object.values(s.types).reduce((n, t) => n + t.responses, 0)),
        responses,
        'nothing was resent after the reconnect',
      );
    } finally {
      await fleet.stop();
      server.kill();
    }
  });
});

describe('fleet simulator, refusals and process hygiene', () => {
  it('a proxy without a client certificate is refused by the TLS handshake and retries with backoff', async () => {
    const pki = await meshPki();
    const server = new StandInAdsServer(pki, new Map(), 'stand-in');
    await server.start();
    const fleet = await startFleet({ servers: [server.address], rootPem: pki.rootPem, proxies: [{ uuid: '00000000-0000-4000-8000-0000000000aa' }], backoff: { baseMs: 50, maxMs: 200 } });
    try {
      const [s] = await fleet.waitFor('a few refused attempts', (st) => (st[0]?.attempts ?? 0) >= 3 && st[0]?.connected === false);
      assert.match(s?.lastError ?? '', /^14 /, 'UNAVAILABLE');
      assert.equal(s?.lastResponseAt, undefined);
      assert.equal(server.requests.length, 0);
    } finally {
      await fleet.stop();
      server.kill();
    }
  });

  for (const engine of ['node', 'go'] as const) {
    it(`a simulator process that dies fails the waits and leaves its proxies disconnected (${engine} engine)`, async () => {
      const pki = await meshPki();
      const proxies = bookstoreProxies(2);
      const server = new StandInAdsServer(pki, await new Snapshots(pki).build(bookstoreModel(proxies)), 'stand-in');
      await server.start();
      const fleet = await startFleet({ engine, servers: [server.address], rootPem: pki.rootPem, proxies: await proxySpecs(pki, proxies), processes: 2 });
      try {
        await fleet.waitFor('both proxies connected', (st) => st.every((s) => s.connected));
        const waiting = fleet.waitFor('something that never happens', () => false);
        const [victim] = fleet.pids();
        process.kill(victim as number, 'SIGKILL');
        await assert.rejects(waiting, { name: 'FleetError', code: 'ProcessExited' });
        assert.deepEqual(fleet.statuses().map((s) => s.connected), [false, true]);
        assert.match(fleet.statuses()[0]?.lastError ?? '', /simulator process 0 .* exited with SIGKILL/);
      } finally {
        await fleet.stop();
        server.kill();
      }
    });

    it(`killing the parent with SIGKILL leaves no simulator process behind (${engine} engine)`, async () => {
      const pki = await meshPki();
      const proxies = bookstoreProxies(4);
      const server = new StandInAdsServer(pki, await new Snapshots(pki).build(bookstoreModel(proxies)), 'stand-in');
      await server.start();
      const parent = spawn(process.execPath, [fileURLToPath(new URL('./fleet-parent.ts', import.meta.url))], { stdio: ['pipe', 'pipe', 'inherit'] });
      try {
        parent.stdin.end(JSON.stringify({ engine, servers: [server.address], rootPem: pki.rootPem, proxies: await proxySpecs(pki, proxies), processes: 2 }));
        const [line] = (await once(parent.stdout, 'data')) as [Buffer];
        const pids = JSON.parse(line.toString()) as number[];
        assert.equal(pids.length, 2);
        await eventually('the proxies to connect', () => server.open === proxies.length);
        parent.kill('SIGKILL');
        await eventually('every simulator process to end', () =>
          pids.every((pid) => {
            try {
              process.kill(pid, 0);
              return false;
            } catch {
              return true;
            }
          }),
        );
        await eventually('the server to see every stream end', () => server.open === 0);
      } finally {
        parent.kill('SIGKILL');
        server.kill();
      }
    });
  }
});
