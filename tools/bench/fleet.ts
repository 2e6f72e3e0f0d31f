// fleet: what the fleet simulator (simulated Envoy sidecars, @osm/testing) costs per proxy, so that a
// benchmark knows how many proxies a simulator process sustains. The server is go-control-plane's
// reference ADS server (xds-reference, a Go process) serving B3's mesh in permissive mode with
// S = N/10 services (every proxy holds every service: S clusters, EDS and validation secrets), mTLS.
// Figures (sim = the simulator processes, read from /proc; server = xds-reference):
//   initial_s, initial_sim_cpu_ms_per_proxy    from start to every proxy holding its config (every type ACKed)
//   rss_kib_per_proxy, rss_added_kib_per_proxy the simulator's RSS at steady state / N, and its growth since the processes were ready / N
//   push_s, push_sim_cpu_ms_per_proxy          one endpoint added to every service: until every proxy ACKed the new EDS
//   storm_s, storm_sim_cpu_ms_per_proxy        the server SIGKILLed and started again on its port: until every proxy is back on it
//   *_server_cpu_ms_per_proxy                  the same for the server, for scale
// Options: --proxies 1000 (N)  --simulator go|node (the engine measured, default go)
//          --processes (default one per 2,000 proxies with node, 5,000 with go)  --mode sotw|delta (delta: node only)
//          --cpu-prof <dir> (CPU profiles of the node engine's processes, written when they stop)
import { setTimeout as settle } from 'node:timers/promises';
import { LocalCertificateAuthority, generateRootCA, loadSigningCA } from '@osm/certificates';
import { systemClock } from '@osm/clock';
import { keyOf } from '@osm/mesh-model';
import type { MeshModel, Proxy } from '@osm/mesh-model';
import { DEFAULT_SERVER_NAME, startFleet, startXdsReference, type Fleet, type ProxyStatus, type XdsReference } from '@osm/testing';
import { buildSnapshot, ResourceCache, TYPE_URLS, type Snapshot } from '@osm/xds-snapshot';
import { inputsFor, mesh, PODS } from './B3.ts';
import { fleetLogger, simulatorEngine } from './mesh-run.ts';
import { cpuMs, rssKiB } from './stats.ts';
import type { Benchmark, BenchResult } from './types.ts';

const HOUR = 3600_000;
/** A snapshot per proxy, one object per identity (the reference server writes each distinct object once). */
function snapshots(model: MeshModel, proxies: readonly Proxy[]): Map<string, Snapshot> {
  const cache = new ResourceCache();
  const byIdentity = new Map<string, Snapshot>();
  return new Map(
    proxies.map((p) => {
      let s = byIdentity.get(keyOf(p.identity));
      if (!s) {
        s = buildSnapshot(model, p, inputsFor(p, cache));
        byIdentity.set(keyOf(p.identity), s);
      }
      return [p.uuid, s];
    }),
  );
}

/** The model with one more ready endpoint on every service. */
function withOneMoreEndpoint(model: MeshModel): MeshModel {
  const endpoints = new Map([...model.endpoints].map(([key, list], i) => [key, [...list, { ip: `10.250.${(i >> 8) & 255}.${i & 255}`, port: list[0]?.port ?? 8080, ready: true }]]));
  return { ...model, endpoints };
}

const holdsAll = (statuses: readonly ProxyStatus[]): boolean =>
  statuses.every((s) => s.connected && s.nacks === 0 && Object.values(TYPE_URLS).every((url) => s.types[url]?.ackedAt !== undefined));

export const fleet: Benchmark = {
  id: 'fleet',
  description: 'the fleet simulator per proxy (CPU, RSS) against go-control-plane: initial config, a push to all, a reconnect storm; S = N/10',
  async run(options, progress, record) {
    const n = Number(options['proxies'] ?? 1000);
    const mode = options['mode'] ?? 'sotw';
    const engine = simulatorEngine(options);
    if (!Number.isInteger(n) || n < PODS) throw new Error(`--proxies must be a whole number of at least ${PODS}`);
    if (mode !== 'sotw' && mode !== 'delta') throw new Error(`--mode must be sotw or delta, not '${mode}'`);
    const { model, proxies } = mesh(Math.ceil(n / PODS), 'permissive');
    const fleetProxies = proxies.slice(0, n);
    progress(`building ${n} proxies' snapshots (S = ${model.services.size}) and bootstrap certificates`);
    const before = snapshots(model, fleetProxies);
    const after = snapshots(withOneMoreEndpoint(model), fleetProxies);
    const root = await generateRootCA({ clock: systemClock });
    const ca = loadSigningCA(root.certificatePem, root.privateKeyPem, systemClock.now());
    if (!ca.ok) throw ca.error;
    const authority = new LocalCertificateAuthority({ ca: ca.value, trustDomain: 'cluster.local', clock: systemClock });
    const serverCert = authority.issueSync({ subject: { kind: 'server', dnsNames: [DEFAULT_SERVER_NAME], ipAddresses: ['127.0.0.1'] }, validityMs: HOUR });
    // node.id is B3's proxy name (the snapshot key); the certificate names a uuid, which xds-reference does not check.
    const specs = fleetProxies.map((p, i) => {
      const cert = authority.issueSync({ subject: { kind: 'bootstrap', proxyUuid: `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`, serviceAccount: p.identity.name, namespace: p.identity.namespace }, validityMs: HOUR });
      return { uuid: p.uuid, certificatePem: cert.certificatePem, privateKeyPem: cert.privateKeyPem };
    });
    const serve = (s: Map<string, Snapshot>, port?: number): Promise<XdsReference> =>
      startXdsReference({ certPem: serverCert.certificatePem, keyPem: serverCert.privateKeyPem, caPem: root.certificatePem, snapshots: { nodes: s }, port });

    let server = await serve(before);
    let sim: Fleet | undefined;
    try {
      const t0 = performance.now();
      sim = await startFleet({
        engine,
        servers: [server.address],
        rootPem: root.certificatePem,
        proxies: specs,
        mode,
        processes: options['processes'] ? Number(options['processes']) : undefined,
        backoff: { baseMs: 500, maxMs: 5000 },
        initialFetchTimeoutMs: 1000,
        nodeOptions: options['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${options['cpu-prof']}`] : [],
        logger: fleetLogger(progress),
      });
      const pids = sim.pids();
      record({ proxies: n, simulator: engine, mode, simulators: pids.length });
      const readyRss = rssKiB(pids);
      const cpu0 = cpuMs(pids);
      const server0 = cpuMs([server.pid]);
      progress(`${pids.length} simulator process(es) ready in ${((performance.now() - t0) / 1000).toFixed(1)} s (${cpu0} ms CPU)`);
      await sim.waitFor('every proxy to hold its config', holdsAll, 600_000);
      const initialS = (performance.now() - t0) / 1000;
      const cpu1 = cpuMs(pids);
      const server1 = cpuMs([server.pid]);
      progress(`initial config everywhere after ${initialS.toFixed(1)} s`);
      await settle(3000);
      const steadyRss = rssKiB(pids);

      const cpu2 = cpuMs(pids);
      const server2 = cpuMs([server.pid]);
      const edsBefore = new Map(sim.statuses().map((s) => [s.uuid, s.types[TYPE_URLS.endpoints]?.version]));
      const t1 = performance.now();
      await server.replaceSnapshots({ nodes: after });
      await sim.waitFor('every proxy to ACK the new endpoints', (st) => st.every((s) => s.types[TYPE_URLS.endpoints]?.version !== edsBefore.get(s.uuid) && s.types[TYPE_URLS.endpoints]?.ackedAt !== undefined), 600_000);
      const pushS = (performance.now() - t1) / 1000;
      const cpu3 = cpuMs(pids);
      const server3 = cpuMs([server.pid]);
      progress(`push to all after ${pushS.toFixed(2)} s`);

      const port = server.port;
      process.kill(server.pid, 'SIGKILL');
      await server.stop();
      await sim.waitFor('every proxy disconnected', (st) => st.every((s) => !s.connected), 600_000);
      const cpu4 = cpuMs(pids);
      const t2 = performance.now();
      server = await serve(after, port);
      await sim.waitFor('every proxy back', (st) => st.every((s) => s.connected && s.connects >= 2) && holdsAll(st), 600_000);
      const stormS = (performance.now() - t2) / 1000;
      const cpu5 = cpuMs(pids);
      const server5 = cpuMs([server.pid]);
      progress(`every proxy back after ${stormS.toFixed(1)} s`);

      const perProxy = (ms: number): number => ms / n;
      return [
        { name: 'proxies', value: n, unit: 'proxies' },
        { name: 'processes', value: pids.length, unit: 'processes' },
        { name: 'initial_s', value: initialS, unit: 's' },
        { name: 'initial_sim_cpu_ms_per_proxy', value: perProxy(cpu1 - cpu0), unit: 'ms' },
        { name: 'initial_server_cpu_ms_per_proxy', value: perProxy(server1 - server0), unit: 'ms' },
        { name: 'rss_kib_per_proxy', value: steadyRss / n, unit: 'KiB' },
        { name: 'rss_added_kib_per_proxy', value: (steadyRss - readyRss) / n, unit: 'KiB' },
        { name: 'push_s', value: pushS, unit: 's' },
        { name: 'push_sim_cpu_ms_per_proxy', value: perProxy(cpu3 - cpu2), unit: 'ms' },
        { name: 'push_server_cpu_ms_per_proxy', value: perProxy(server3 - server2), unit: 'ms' },
        { name: 'storm_s', value: stormS, unit: 's' },
        { name: 'storm_sim_cpu_ms_per_proxy', value: perProxy(cpu5 - cpu4), unit: 'ms' },
        { name: 'storm_server_cpu_ms_per_proxy', value: perProxy(server5), unit: 'ms' },
      ] satisfies BenchResult[];
    } finally {
      // A CPU profile is written as a process exits: give it time.
      await sim?.stop(120_000);
      await server.stop();
    }
  },
};
