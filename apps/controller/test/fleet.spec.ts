// osm-controller serving a fleet: 50 simulated sidecars of the bookstore mesh (child processes, real
// mTLS, SotW as Envoy speaks it) connect, ACK, and hold exactly their identity's config; every proxy's
// resources pass the independent Go check; after SIGKILL and a restart every proxy comes back to the
// same versions (service certificates apart: they live in memory) and is then sent nothing new; a new
// TrafficTarget reaches exactly its sources and its destination, and no other proxy sees a new nonce.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkEnvoyResources, ControllerProcess, createBookstore, formatEnvoyProblems, KubeRest, startFleet, startKubeApiServer, trafficTarget, trafficTargetsPath, type Bookstore, type Fleet, type KubeApiServer, type ProxyStatus } from '@osm/testing';
import { envoy } from '@osm/envoy-api';
import { spiffeId } from '@osm/mesh-model';
import { TYPE_URLS } from '@osm/xds-snapshot';

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

interface Dump {
  readonly config: Record<string, { version: string; resources: { name: string }[] }>;
}

describe('osm-controller serving 50 simulated sidecars', () => {
  let api: KubeApiServer;
  let mesh: Bookstore;
  let controller: ControllerProcess;
  let fleet: Fleet;
  let port: string;

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
    fleet = await startFleet({ servers: [ads], rootPem: mesh.rootPem, proxies, processes: 2, keepResources: true, backoff: { baseMs: 100, maxMs: 1000 }, initialFetchTimeoutMs: 2000 });
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

  it('after SIGKILL and a restart on the same port, every proxy ends on the same versions (new service certificates apart) and is then sent nothing new', async () => {
    const before = versions(fleet.statuses());
    const connects = new Map(fleet.statuses().map((s) => [s.uuid, s.connects]));
    assert.equal(await controller.stop('SIGKILL'), 'SIGKILL');
    controller = new ControllerProcess(api.kubeconfigPath, ['--replica-id', 'fleet-1', '--ads-port', port]);
    await controller.adsAddress();
    // A proxy whose config did not change hears nothing from the new replica: its new stream is what
    // shows it is back. One that held a service certificate must also have ACKed the new replica's
    // (certificates live in memory: every replica issues its own), or a late SDS push would follow.
    const back = (s: ProxyStatus): boolean => {
      const secrets = s.types[TYPE_URLS.secrets];
      const heldCertificate = secrets !== undefined && before.get(s.uuid)?.[TYPE_URLS.secrets] !== '';
      return settled(s) && s.connects > (connects.get(s.uuid) ?? 0) && (!heldCertificate || secrets.version !== before.get(s.uuid)?.[TYPE_URLS.secrets]);
    };
    const statuses = await fleet.waitFor('every proxy back and settled', (all) => all.every(back), 120_000).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${JSON.stringify(fleet.statuses().filter((s) => !back(s)).slice(0, 3), null, 1)}`);
    });
    const afterRestart = versions(statuses);
    for (const [uuid, types] of before) {
      for (const t of ALL_TYPES) {
        if (t === TYPE_URLS.secrets) continue; // a new replica issues new service certificates
        assert.equal(afterRestart.get(uuid)?.[t], types[t], `${uuid} ${t}`);
      }
    }
    // Nothing changes in the mesh: nothing more is sent to anyone.
    const responses = (all: readonly ProxyStatus[]): number => all.reduce((n, s) => n + ALL_TYPES.reduce((m, t) => m + (s.types[t]?.responses ?? 0), 0), 0);
    await fleet.sync();
    const count = responses(fleet.statuses());
    await sleep(3000);
    await fleet.sync();
    assert.equal(responses(fleet.statuses()), count, 'no response while nothing changes');
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
});
