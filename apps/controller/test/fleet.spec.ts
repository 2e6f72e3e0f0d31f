// osm-controller serving a fleet: 50 simulated sidecars of the bookstore mesh (child processes, real
// mTLS, SotW as Envoy speaks it) connect, ACK, and hold exactly their identity's config; every proxy's
// resources pass the independent Go check; after SIGKILL and a restart every proxy, over SotW and over
// delta, comes back to the same versions of every type and is sent nothing at all (service
// certificates live in memory and the new process issues its own, but they are of the same generation
// and the secret's version names the generation, not the bytes); a new TrafficTarget reaches exactly
// its sources and its destination, and no other proxy sees a new nonce.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkEnvoyResources, ControllerProcess, createBookstore, formatEnvoyProblems, KubeRest, startFleet, startKubeApiServer, trafficTarget, trafficTargetsPath, type Bookstore, type Fleet, type FleetOptions, type KubeApiServer, type ProxyStatus } from '@osm/testing';
import { envoy } from '@osm/envoy-api';
import { spiffeId } from '@osm/mesh-model';
import { TYPE_URLS } from '@osm/xds-snapshot';
import { rotatedBetween } from './ha-mesh.ts';

const { Secret } = envoy.extensions.transport_sockets.tls.v3;

// 50 pods over the six apps of the demo.
const PODS = { bookbuyer: 10, bookthief: 8, 'bookstore-v1': 9, 'bookstore-v2': 9, bookwarehouse: 8, mysql: 6 };
const ALL_TYPES = Object.values(TYPE_URLS);

/** CDS and LDS held (Envoy asks for the rest only where they refer to it), every response ACKed, no NACK. */
const settled = (s: ProxyStatus): boolean =>
  s.connected &&
  [TYPE_URLS.clusters, TYPE_URLS.listeners].every((t) => s.types[t] !== undefined) &&
  Object.values(s.types).every((t) => t.nacks === 0 && t.ackedAt !== undefined && t.responseAt !== undefined && t.ackedAt >= t.responseAt);

/** Per proxy and type URL: the version it ACKed. */
const versions = (statuses: readonly ProxyStatus[]): Map<string, Record<string, string>> =>
  new Map(statuses.map((s) => [s.uuid, Object.fromEntries(ALL_TYPES.map((t) => [t, s.types[t]?.version ?? '']))]));

/** Per proxy and type URL: how many responses it received, over all its streams. */
const responses = (statuses: readonly ProxyStatus[]): Map<string, Record<string, number>> =>
  new Map(statuses.map((s) => [s.uuid, Object.fromEntries(ALL_TYPES.map((t) => [t, s.types[t]?.responses ?? 0]))]));

interface Dump {
  readonly config: Record<string, { version: string; resources: { name: string }[] }>;
}

describe('osm-controller serving 50 simulated sidecars', () => {
  let api: KubeApiServer;
  let mesh: Bookstore;
  let controller: ControllerProcess;
  let fleet: Fleet;
  let port: string;
  let fleetOptions: FleetOptions;
  let restarts = 0;

  before(async () => {
    api = await startKubeApiServer({ progress: () => undefined });
    mesh = await createBookstore(new KubeRest(api.kubeConfig), PODS);
    controller = new ControllerProcess(api.kubeconfigPath, ['--replica-id', 'fleet-0']);
    const ads = await controller.adsAddress();
    port = ads.split(':')[1] as string;
    const proxies = mesh.pods.map((p) => {
      const cert = mesh.bootstrap(p);
      return { uuid: p.uuid, certificatePem: cert.certificatePem, privateKeyPem: cert.privateKeyPem };
    });
    fleetOptions = { servers: [ads], rootPem: mesh.rootPem, proxies, processes: 2, keepResources: true, backoff: { baseMs: 100, maxMs: 1000 }, initialFetchTimeoutMs: 2000 };
    fleet = await startFleet(fleetOptions);
  });
  after(async () => {
    await fleet?.stop();
    await controller?.stop('SIGKILL');
    await api?.stop();
  });

  it('every proxy connects and ACKs its config; it holds exactly what the controller has for its pod, and it passes the Go check', async () => {
    assert.equal(mesh.pods.length, 50);
    const statuses = await fleet.waitFor('every proxy ACKed its config', (all) => all.every(settled), 120_000).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${JSON.stringify(fleet.statuses().filter((s) => !settled(s)).slice(0, 3), null, 1)}`);
    });
    for (const s of statuses) assert.equal(s.replica, 'fleet-0');
    for (const pod of mesh.pods) {
      const dump = await controller.json<Dump>(`/debug/config_dump?proxy=${pod.uuid}`);
      const held = await fleet.resources(pod.uuid);
      const status = fleet.status(pod.uuid) as ProxyStatus;
      for (const type of ['clusters', 'listeners'] as const) {
        // Wildcard types: the very set the controller built for this pod, at the version it built.
        assert.deepEqual((held[TYPE_URLS[type]] ?? []).map((r) => r.name).sort(), (dump.config[type]?.resources ?? []).map((r) => r.name).sort(), `${pod.name} ${type}`);
        assert.equal(status.types[TYPE_URLS[type]]?.version, dump.config[type]?.version, `${pod.name} ${type} version`);
      }
      for (const type of ['endpoints', 'routes', 'secrets'] as const) {
        const dumped = new Set((dump.config[type]?.resources ?? []).map((r) => r.name));
        for (const r of held[TYPE_URLS[type]] ?? []) assert.ok(dumped.has(r.name), `${pod.name} holds ${type} ${r.name} that is not its own`);
      }
      // The service certificate it holds is its own identity's, and no other.
      for (const r of held[TYPE_URLS.secrets] ?? []) {
        const chain = Secret.decode(r.bytes).tlsCertificate?.certificateChain?.inlineBytes;
        if (!chain) continue; // a validation context
        const uris = (new X509Certificate(Buffer.from(chain)).subjectAltName ?? '').split(', ').filter((san) => san.startsWith('URI:'));
        assert.deepEqual(uris, [`URI:${spiffeId({ namespace: pod.namespace, name: pod.serviceAccount }, 'cluster.local')}`], `${pod.name} ${r.name}`);
      }
      const report = await checkEnvoyResources(Object.values(held).flat());
      assert.ok(report.ok, `${pod.namespace}/${pod.name}:\n${formatEnvoyProblems(report.problems)}`);
    }
    // Proxies of one identity hold the same versions (config depends on the identity, not the pod).
    const byIdentity = new Map<string, string>();
    for (const pod of mesh.pods) {
      const v = JSON.stringify(versions([fleet.status(pod.uuid) as ProxyStatus]).get(pod.uuid));
      const identity = `${pod.namespace}/${pod.serviceAccount}`;
      assert.equal(byIdentity.get(identity) ?? v, v, `${pod.name}: same versions as the other proxies of ${identity}`);
      byIdentity.set(identity, v);
    }
  });

  /**
   * SIGKILL the controller and start a new process on the same port: every proxy reconnects and ends on
   * the versions it held before, of every type, and receives no response at all (a proxy whose identity
   * entered a new certificate generation meanwhile gets its new certificate, and only that).
   */
  async function restartAndCheck(mode: 'sotw' | 'delta'): Promise<void> {
    const from = Date.now();
    const before = versions(fleet.statuses());
    const received = responses(fleet.statuses());
    // Over delta, a proxy that holds nothing of a type sends no initial_resource_versions for it, just
    // like a new proxy: that subscription is answered (empty, at the same version) so that it can finish
    // initializing. bookthief, which may call nothing and serves nothing, holds no clusters nor listeners.
    const heldNothing = new Set(fleet.statuses().flatMap((s) => ALL_TYPES.filter((t) => s.types[t] !== undefined && s.types[t].names.length === 0).map((t) => `${s.uuid} ${t}`)));
    const bookthieves = new Set(mesh.pods.filter((p) => p.app === 'bookthief').map((p) => p.uuid));
    for (const entry of heldNothing) assert.ok(bookthieves.has(entry.split(' ')[0] ?? ''), `${entry}: only bookthief holds nothing of a type`);
    const connects = new Map(fleet.statuses().map((s) => [s.uuid, s.connects]));
    assert.equal(await controller.stop('SIGKILL'), 'SIGKILL');
    controller = new ControllerProcess(api.kubeconfigPath, ['--replica-id', `fleet-${++restarts}`, '--ads-port', port]);
    await controller.adsAddress();
    // A proxy whose config did not change hears nothing from the new replica: its new stream is what shows it is back.
    const back = (s: ProxyStatus): boolean => settled(s) && s.connects > (connects.get(s.uuid) ?? 0);
    await fleet.waitFor('every proxy back and settled', (all) => all.every(back), 120_000).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${JSON.stringify(fleet.statuses().filter((s) => !back(s)).slice(0, 3), null, 1)}`);
    });
    // Nothing changes in the mesh: nothing is sent to anyone, now or a little later.
    await sleep(3000);
    await fleet.sync();
    const statuses = fleet.statuses();
    // A renewal the controller makes at a boundary close to now is pushed within the margin.
    const rotated = rotatedBetween(mesh.pods, from - 5000, Date.now() + 5000);
    const afterRestart = versions(statuses);
    const receivedAfter = responses(statuses);
    for (const [uuid, types] of before) {
      for (const t of ALL_TYPES) {
        if (t === TYPE_URLS.secrets && rotated.has(uuid)) continue;
        assert.equal(afterRestart.get(uuid)?.[t], types[t], `${uuid} ${t}: the version held before the restart`);
        if (mode === 'delta' && heldNothing.has(`${uuid} ${t}`)) continue;
        assert.equal(receivedAfter.get(uuid)?.[t], received.get(uuid)?.[t], `${uuid} ${t}: no response from the new process`);
      }
    }
  }

  it('after SIGKILL and a restart on the same port, every proxy ends on the same versions of every type, service certificates included, and is sent nothing', async () => {
    assert.ok(
      fleet.statuses().some((s) => (s.types[TYPE_URLS.secrets]?.names ?? []).includes('service-cert')),
      'proxies hold a service certificate, so the restart puts its version to the test',
    );
    await restartAndCheck('sotw');
  });

  it('a new TrafficTarget reaches exactly its sources (a new cluster) and its destination (inbound RBAC); every other proxy sees no new nonce of any type', async () => {
    const rest = new KubeRest(api.kubeConfig);
    /** Per proxy and type URL: the nonce of the last response it received. */
    const nonces = (statuses: readonly ProxyStatus[]): Map<string, Record<string, string>> => new Map(statuses.map((s) => [s.uuid, Object.fromEntries(ALL_TYPES.map((t) => [t, s.types[t]?.nonce ?? '']))]));
    const changedTypes = (from: Map<string, Record<string, string>>, to: Map<string, Record<string, string>>, uuid: string): string[] => ALL_TYPES.filter((t) => from.get(uuid)?.[t] !== to.get(uuid)?.[t]);
    const uuids = (app: string): Set<string> => new Set(mesh.pods.filter((p) => p.app === app).map((p) => p.uuid));
    // The policy: bookthief (service account bookthief) may call the pods running as bookstore/bookstore, bookstore-v1's.
    const sources = uuids('bookthief');
    const destination = uuids('bookstore-v1');
    const cds = (s: ProxyStatus | undefined): readonly string[] => s?.types[TYPE_URLS.clusters]?.names ?? [];
    const rds = (s: ProxyStatus | undefined): string => s?.types[TYPE_URLS.routes]?.nonce ?? '';

    await fleet.sync();
    const start = await fleet.waitFor('every proxy settled', (all) => all.every(settled), 60_000);
    const before = nonces(start);
    const thiefClusters = new Set(start.filter((s) => sources.has(s.uuid)).flatMap(cds));
    await rest.create(trafficTargetsPath('bookstore'), trafficTarget('bookstore', 'bookstore-thief', [{ ns: 'bookthief', sa: 'bookthief' }], 'bookstore-service-routes', 'bookstore'));
    // The affected side has ACKed it: every source holds a new cluster, every destination a new inbound route config.
    const reached = (all: readonly ProxyStatus[]): boolean =>
      all.every((s) => settled(s) && (!sources.has(s.uuid) || cds(s).some((c) => !thiefClusters.has(c))) && (!destination.has(s.uuid) || rds(s) !== before.get(s.uuid)?.[TYPE_URLS.routes]));
    const afterPolicy = nonces(await fleet.waitFor('sources and destination to ACK the TrafficTarget', reached, 60_000));

    // Stragglers of that batch would go out before the next batch's pushes (the controller works through
    // batches in order): a marker change that only the destination's inbound routes see (one match
    // fewer) is waited for, then nothing more may have reached anyone else.
    await rest.patch(`${trafficTargetsPath('bookstore')}/bookstore-thief`, { spec: { rules: [{ kind: 'HTTPRouteGroup', name: 'bookstore-service-routes', matches: ['books-bought'] }] } });
    const final = await fleet.waitFor('the destination to ACK the marker change', (all) => all.every((s) => settled(s) && (!destination.has(s.uuid) || rds(s) !== afterPolicy.get(s.uuid)?.[TYPE_URLS.routes])), 60_000);
    await fleet.sync();
    const after = nonces(fleet.statuses());

    const changed = mesh.pods.filter((p) => changedTypes(before, after, p.uuid).length > 0);
    assert.deepEqual(changed.map((p) => p.name).sort(), mesh.pods.filter((p) => sources.has(p.uuid) || destination.has(p.uuid)).map((p) => p.name).sort(), 'exactly the sources and the destination were sent something');
    const markerChanged = mesh.pods.filter((p) => changedTypes(afterPolicy, after, p.uuid).length > 0);
    assert.ok(markerChanged.every((p) => destination.has(p.uuid) || sources.has(p.uuid)), `the marker reached only the policy's proxies: ${markerChanged.map((p) => p.name).join(', ')}`);
    for (const s of final) {
      const pod = mesh.pods.find((p) => p.uuid === s.uuid);
      const types = changedTypes(before, afterPolicy, s.uuid);
      if (sources.has(s.uuid)) {
        // Its new clusters are the destination's services, which bookbuyer (allowed before) already calls.
        assert.ok(types.includes(TYPE_URLS.clusters), `${pod?.name}: new CDS`);
        const bookbuyerClusters = new Set(final.filter((b) => uuids('bookbuyer').has(b.uuid)).flatMap(cds));
        for (const c of cds(s).filter((c) => !thiefClusters.has(c))) assert.ok(bookbuyerClusters.has(c), `${pod?.name}: gained ${c}, a cluster of the destination's services`);
      } else if (destination.has(s.uuid)) {
        // Inbound RBAC lives in the inbound route config; the destination calls nothing new.
        assert.ok(types.includes(TYPE_URLS.routes), `${pod?.name}: new RDS`);
        assert.ok(!types.includes(TYPE_URLS.clusters), `${pod?.name}: no new CDS (${types.join(', ')})`);
      }
    }
  });

  it('the same over delta xDS (initial_resource_versions): a restart sends nothing', async () => {
    await fleet.stop();
    fleet = await startFleet({ ...fleetOptions, mode: 'delta' });
    await fleet.waitFor('every proxy ACKed its config over delta', (all) => all.every(settled), 120_000);
    await restartAndCheck('delta');
  });
});
