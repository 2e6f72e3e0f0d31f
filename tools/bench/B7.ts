// B7 versus go-control-plane: the same fleet (N simulated sidecars, mTLS, SotW) served first by
// osm-controller (the benchmark mesh, S = N/10, in a real API server), then by go-control-plane's
// snapshot cache and server (xds-reference, tools/xds-go) serving the very bytes our proxies held,
// in the same run on the same machine. Ratios are ours / theirs (below 1: we are faster or smaller).
//   initial_s_*          fleet start until every proxy holds config
//   push_p99_ms_*        one endpoint added to the hub (every proxy): ours from the Kubernetes write,
//                        theirs from the start of writing the new snapshots (their reload included)
//   rss_kib_per_proxy_*  server RSS with the fleet minus before it, per proxy
// Options: --proxies 1000  --simulators <processes>  --simulator node (the only engine here: the
//          fleet keeps the resources our proxies held, which the go engine does not)
import { setTimeout as settle } from 'node:timers/promises';
import { createHash } from 'node:crypto';
import { startFleet, startXdsReference, type EnvoyResource, type Fleet, type XdsReference } from '@osm/testing';
import { cds, newEndpoints, timeChange } from './B1.ts';
import { FLEET_TIMING, MeshRun, holdsConfig, simulatorEngine, simulatorProcesses } from './mesh-run.ts';
import { percentile, rssKiB } from './stats.ts';
import type { Benchmark, BenchResult } from './types.ts';

/** Every proxy's held resources; equal lists are one object, so xds-reference writes and holds each once. */
async function heldResources(fleet: Fleet, uuids: readonly string[]): Promise<Map<string, EnvoyResource[]>> {
  const distinct = new Map<string, EnvoyResource[]>();
  const byProxy = new Map<string, EnvoyResource[]>();
  for (const uuid of uuids) {
    const held = Object.values(await fleet.resources(uuid)).flat();
    const h = createHash('sha256');
    for (const r of held) h.update(r.typeUrl).update('\0').update(r.name).update('\0').update(r.bytes);
    const key = h.digest('hex');
    let list = distinct.get(key);
    if (!list) {
      list = held.map((r) => ({ typeUrl: r.typeUrl, name: r.name, bytes: r.bytes }));
      distinct.set(key, list);
    }
    byProxy.set(uuid, list);
  }
  return byProxy;
}

const p99 = (samples: number[]): number => percentile(samples.sort((a, b) => a - b), 99);
// The fleet MeshRun started for ours, resources kept (that costs the simulator too): both servers face the same fleet.
const fleetOptions = { ...FLEET_TIMING, keepResources: true } as const;

export const B7: Benchmark = {
  id: 'B7',
  description: 'versus go-control-plane: the same fleet and resources served by osm-controller and by go-control-plane, same run, mTLS; ratios ours/theirs (options: --proxies 1000)',
  async run(options, progress, record) {
    const n = Number(options['proxies'] ?? 1000);
    const simulators = simulatorProcesses(options);
    if (simulatorEngine({ simulator: 'node', ...options }) !== 'node') throw new Error("--simulator must be node for B7: its fleet keeps the resources the proxies hold (keepResources), which the go engine does not");
    const run = await MeshRun.start({ proxies: n, replicas: 1, simulators, engine: 'node', keepResources: true, record }, progress);
    let reference: XdsReference | undefined;
    let theirFleet: Fleet | undefined;
    try {
      const uuids = run.mesh.proxies.map((p) => p.uuid);
      const hub = run.mesh.services[0];
      if (!hub) throw new Error('the mesh has no services');
      const hubCluster = run.mesh.clusterOf(hub);
      const callsHub = (s: Parameters<typeof newEndpoints>[0]): boolean => cds(s)?.names.includes(hubCluster) ?? false;

      // Ours.
      await settle(3000);
      const ourRss0 = run.rssKiB();
      const oursInitial = await run.connectFleet();
      const ourFleet = run.fleet as Fleet;
      await settle(3000);
      const ourRss = (run.rssKiB() - ourRss0) / n;
      progress(`ours: every proxy holds config after ${oursInitial.toFixed(2)} s, ${ourRss.toFixed(0)} KiB per proxy`);
      const before = await heldResources(ourFleet, uuids);
      const oursPush = p99(await timeChange(ourFleet, callsHub, newEndpoints, () => run.mesh.addEndpoint(hub)));
      progress(`ours: endpoint added, p99 ${oursPush.toFixed(0)} ms`);
      const after = await heldResources(ourFleet, uuids);
      await run.fleet?.stop(30_000);
      run.fleet = undefined;
      for (const c of run.controllers) await c.stop('SIGTERM');

      // Theirs: the bytes our proxies held, over the same mTLS.
      const cert = run.mesh.serverCertificate();
      reference = await startXdsReference({ certPem: cert.certificatePem, keyPem: cert.privateKeyPem, caPem: run.mesh.rootPem, snapshots: { nodes: before } });
      const ref = reference;
      await settle(3000);
      const theirRss0 = rssKiB([ref.pid]);
      const t0 = performance.now();
      theirFleet = await startFleet({ servers: [ref.address], rootPem: run.mesh.rootPem, proxies: run.mesh.proxies, processes: simulators, ...fleetOptions });
      await theirFleet.waitFor('every proxy to hold config', (st) => st.every(holdsConfig()), 600_000);
      const theirsInitial = (performance.now() - t0) / 1000;
      await settle(3000);
      const theirRss = (rssKiB([ref.pid]) - theirRss0) / n;
      progress(`theirs: every proxy holds config after ${theirsInitial.toFixed(2)} s, ${theirRss.toFixed(0)} KiB per proxy`);
      const theirsPush = p99(await timeChange(theirFleet, callsHub, newEndpoints, () => ref.replaceSnapshots({ nodes: after }), 'start'));
      progress(`theirs: new snapshots, p99 ${theirsPush.toFixed(0)} ms`);

      return [
        { name: 'proxies', value: n, unit: 'proxies' },
        { name: 'initial_s_ours', value: oursInitial, unit: 's' },
        { name: 'initial_s_theirs', value: theirsInitial, unit: 's' },
        { name: 'initial_ratio', value: oursInitial / theirsInitial, unit: 'x' },
        { name: 'push_p99_ms_ours', value: oursPush, unit: 'ms' },
        { name: 'push_p99_ms_theirs', value: theirsPush, unit: 'ms' },
        { name: 'push_ratio', value: oursPush / theirsPush, unit: 'x' },
        { name: 'rss_kib_per_proxy_ours', value: ourRss, unit: 'KiB' },
        { name: 'rss_kib_per_proxy_theirs', value: theirRss, unit: 'KiB' },
        { name: 'rss_ratio', value: ourRss / theirRss, unit: 'x' },
      ] satisfies BenchResult[];
    } finally {
      await theirFleet?.stop(30_000);
      await reference?.stop();
      await run.stop();
    }
  },
};
