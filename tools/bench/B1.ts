// B1 convergence: one osm-controller process, N simulated sidecars in other processes over mTLS, the
// benchmark mesh (S = N/10 services, SMI mode) in a real API server. Each change is timed from the
// moment the Kubernetes write returns until every affected proxy has ACKed config containing it:
//   endpoint_*  one endpoint added to the hub service (every proxy calling it): a new EDS version ACKed
//   policy_*    a TrafficTarget from every service to one nobody called yet: its cluster in CDS and
//               its endpoints in EDS, both ACKed
// Each change is made --rounds times (default 3); p50, p99 and max are over every affected proxy of
// every round. initial_s is from the fleet's start until every proxy holds config.
// Options: --proxies 1000  --rounds 3  --simulators <processes>  --simulator go|node (fleet engine, default go)  --tracing on (the same again with
//          tracing to a local OTLP receiver, figures suffixed _tracing)  --cpu-prof <dir> (controller)
import { setTimeout as settle } from 'node:timers/promises';
import { TYPE_URLS } from '@osm/xds-snapshot';
import { startOtlpReceiver, type Fleet, type ProxyStatus } from '@osm/testing';
import { MeshRun, simulatorEngine, simulatorProcesses } from './mesh-run.ts';
import { cpuMs, percentile } from './stats.ts';
import type { Benchmark, BenchResult, BenchSettings } from './types.ts';

/** When a proxy holds the change (monotonic ms of the ACK that made it so), or undefined. */
type Reached = (before: ProxyStatus, now: ProxyStatus) => number | undefined;

/**
 * Makes the write and waits until every affected proxy reached it: each one's ms from the write's
 * return, or from its start when `from` says so (a write that resolves only once the server applied it).
 */
export async function timeChange(fleet: Fleet, affected: (s: ProxyStatus) => boolean, reached: Reached, write: () => Promise<void>, from: 'return' | 'start' = 'return'): Promise<number[]> {
  const before = new Map(fleet.statuses().filter(affected).map((s) => [s.uuid, s]));
  const started = fleet.now();
  await write();
  const t = from === 'start' ? started : fleet.now();
  const times = (statuses: readonly ProxyStatus[]): (number | undefined)[] =>
    statuses.flatMap((s) => {
      const b = before.get(s.uuid);
      return b ? [reached(b, s)] : [];
    });
  const done = await fleet.waitFor(`${before.size} proxies to ACK the change`, (st) => times(st).every((x) => x !== undefined), 300_000);
  return times(done).map((x) => (x as number) - t);
}

export const cds = (s: ProxyStatus) => s.types[TYPE_URLS.clusters];
const eds = (s: ProxyStatus) => s.types[TYPE_URLS.endpoints];

/** A new EDS version, ACKed. */
export const newEndpoints: Reached = (before, now) => {
  const e = eds(now);
  return e && e.version !== eds(before)?.version && e.ackedAt !== undefined ? e.ackedAt : undefined;
};

/** The cluster in CDS and its endpoints in EDS, both ACKed. */
const holdsCluster =
  (cluster: string): Reached =>
  (_, now) => {
    const c = cds(now);
    const e = eds(now);
    if (!c?.names.includes(cluster) || !e?.names.includes(cluster) || c.ackedAt === undefined || e.ackedAt === undefined) return undefined;
    return Math.max(c.ackedAt, e.ackedAt);
  };

function summary(prefix: string, samples: number[]): BenchResult[] {
  const sorted = samples.sort((a, b) => a - b);
  return [
    { name: `${prefix}_p50_ms`, value: percentile(sorted, 50), unit: 'ms' },
    { name: `${prefix}_p99_ms`, value: percentile(sorted, 99), unit: 'ms' },
    { name: `${prefix}_max_ms`, value: sorted.at(-1) ?? Number.NaN, unit: 'ms' },
    { name: `${prefix}_proxies`, value: sorted.length, unit: 'ACKs' },
  ];
}

async function convergence(n: number, rounds: number, options: Readonly<Record<string, string>>, tracingUrl: string | undefined, progress: (line: string) => void, record: (settings: BenchSettings) => void): Promise<BenchResult[]> {
  const run = await MeshRun.start(
    {
      proxies: n,
      replicas: 1,
      simulators: simulatorProcesses(options),
      engine: simulatorEngine(options),
      controllerArgs: tracingUrl ? ['--otlp-endpoint', tracingUrl] : [],
      controllerNodeOptions: options['cpu-prof'] ? `--cpu-prof --cpu-prof-dir=${options['cpu-prof']}` : undefined,
      record,
    },
    progress,
  );
  try {
    const cpu0 = run.cpuMs();
    const initialS = await run.connectFleet();
    const cpu1 = run.cpuMs();
    const fleet = run.fleet as Fleet;
    const simCpu = cpuMs(fleet.pids());
    progress(`every proxy holds config after ${initialS.toFixed(2)} s (CPU per proxy: controller ${((cpu1 - cpu0) / n).toFixed(2)} ms, simulator ${(simCpu / n).toFixed(2)} ms)`);
    await settle(2000);
    const endpoint: number[] = [];
    const policy: number[] = [];
    // CPU of the controller and of the simulator per change: wall times on a shared machine say little alone.
    const cpu = { endpoint: { controller: 0, sim: 0 }, policy: { controller: 0, sim: 0 } };
    const counted = async (kind: 'endpoint' | 'policy', change: () => Promise<number[]>): Promise<number[]> => {
      const c0 = run.cpuMs();
      const s0 = cpuMs(fleet.pids());
      const times = await change();
      cpu[kind].controller += run.cpuMs() - c0;
      cpu[kind].sim += cpuMs(fleet.pids()) - s0;
      return times;
    };
    const hub = run.mesh.services[0];
    if (!hub) throw new Error('the mesh has no services');
    const hubCluster = run.mesh.clusterOf(hub);
    for (let r = 0; r < rounds; r++) {
      const times = await counted('endpoint', () => timeChange(fleet, (s) => cds(s)?.names.includes(hubCluster) ?? false, newEndpoints, () => run.mesh.addEndpoint(hub)));
      endpoint.push(...times);
      progress(`round ${r + 1}: endpoint added, ${times.length} proxies, max ${Math.max(...times).toFixed(0)} ms`);
      await settle(1000);
      const target = run.mesh.services[1 + r];
      if (!target) break;
      const cluster = run.mesh.clusterOf(target);
      const affected = (s: ProxyStatus): boolean => !cds(s)?.names.includes(cluster);
      const ptimes = await counted('policy', () => timeChange(fleet, affected, holdsCluster(cluster), () => run.mesh.allowAllTo(target)));
      policy.push(...ptimes);
      progress(`round ${r + 1}: TrafficTarget to ${target.namespace}/${target.name} added, ${ptimes.length} proxies, max ${Math.max(...ptimes).toFixed(0)} ms`);
      await settle(1000);
    }
    return [
      { name: 'proxies', value: n, unit: 'proxies' },
      { name: 'services', value: run.mesh.services.length, unit: 'services' },
      { name: 'initial_s', value: initialS, unit: 's' },
      { name: 'initial_controller_cpu_ms_per_proxy', value: (cpu1 - cpu0) / n, unit: 'ms' },
      { name: 'initial_sim_cpu_ms_per_proxy', value: simCpu / n, unit: 'ms' },
      ...summary('endpoint', endpoint),
      { name: 'endpoint_controller_cpu_ms_per_ack', value: cpu.endpoint.controller / endpoint.length, unit: 'ms' },
      { name: 'endpoint_sim_cpu_ms_per_ack', value: cpu.endpoint.sim / endpoint.length, unit: 'ms' },
      ...summary('policy', policy),
      { name: 'policy_controller_cpu_ms_per_ack', value: cpu.policy.controller / policy.length, unit: 'ms' },
      { name: 'policy_sim_cpu_ms_per_ack', value: cpu.policy.sim / policy.length, unit: 'ms' },
    ];
  } finally {
    await run.stop();
  }
}

export const B1: Benchmark = {
  id: 'B1',
  description: 'convergence: a Kubernetes write until every affected proxy ACKed it (one endpoint added; one TrafficTarget added), p50/p99/max; S = N/10 (options: --proxies 1000 --rounds 3 --tracing on)',
  async run(options, progress, record) {
    const n = Number(options['proxies'] ?? 1000);
    const rounds = Number(options['rounds'] ?? 3);
    if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a whole number of at least 1, not '${options['rounds']}'`);
    const tracing = options['tracing'] ?? 'off';
    if (tracing !== 'on' && tracing !== 'off') throw new Error(`--tracing must be on or off, not '${tracing}'`);
    record({ rounds, tracing });
    const results = await convergence(n, rounds, options, undefined, progress, record);
    if (tracing === 'off') return results;
    progress('the same again with tracing on (OTLP/HTTP to a local receiver)');
    const receiver = await startOtlpReceiver();
    try {
      const traced = await convergence(n, rounds, options, receiver.endpoint, progress, record);
      progress(`the OTLP receiver got ${receiver.paths.length} export requests (${receiver.spans.length} spans)`);
      return [...results, ...traced.filter((r) => r.name !== 'proxies' && r.name !== 'services').map((r) => ({ ...r, name: `${r.name}_tracing` }))];
    } finally {
      await receiver.close();
    }
  },
};
