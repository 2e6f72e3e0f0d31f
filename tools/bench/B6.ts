// B6 reconnect storm, two scenarios on the benchmark mesh (S = N/10), N simulated sidecars:
//   single_*  the only replica is SIGKILLed and started again on the same ADS port: from the kill
//             until every proxy has a new stream and holds ACKed config on it
//             (the controller's own start, informer sync included); restart_s is kill -> ADS port
//             listening again, so storm_after_listen_s = single_s - restart_s is the storm itself
//   ha_*      one of three replicas is SIGKILLed (its address leaves the fleet's server list, as a
//             Service drops the endpoint): from the kill until every proxy it served has ACKed
//             config from a survivor; peak RSS and CPU of the survivors during it
// Options: --proxies 1000  --simulators <processes>  --simulator go|node (fleet engine, default go)  --scenario single|ha|both
//          --cpu-prof <dir> (controllers; each writes its profile when it exits: the SIGKILLed one writes none)
import { setTimeout as settle } from 'node:timers/promises';
import type { Fleet, FleetEngine, ProxyStatus } from '@osm/testing';
import { holdsConfig, MeshRun, simulatorEngine, simulatorProcesses } from './mesh-run.ts';
import type { Benchmark, BenchResult, BenchSettings } from './types.ts';

/** Samples the RSS of the run's controllers every 100 ms until stopped: the peak in KiB. */
function peakRss(run: MeshRun): { stop: () => number } {
  let peak = run.rssKiB();
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, run.rssKiB());
    } catch {
      // A process that just exited has no /proc entry: the next sample skips it.
    }
  }, 100);
  return {
    stop: () => {
      clearInterval(timer);
      return peak;
    },
  };
}

/**
 * A proxy is back once it opened a new stream and holds config on it. Versions are content hashes: a
 * proxy that already holds the current version of a type gets no response for it on the new stream
 * (nothing to ACK), so holding config means every type it holds is ACKed with no NACK since.
 */
function reconnected(fleet: Fleet): (s: ProxyStatus) => boolean {
  const connects = new Map(fleet.statuses().map((s) => [s.uuid, s.connects]));
  const holds = holdsConfig();
  return (s) => s.connects > (connects.get(s.uuid) ?? 0) && holds(s);
}

async function single(n: number, simulators: number | undefined, engine: FleetEngine, nodeOptions: string | undefined, progress: (line: string) => void, record: (settings: BenchSettings) => void): Promise<BenchResult[]> {
  const run = await MeshRun.start({ proxies: n, replicas: 1, simulators, engine, controllerNodeOptions: nodeOptions, record }, progress);
  try {
    const initialS = await run.connectFleet();
    const fleet = run.fleet as Fleet;
    progress(`every proxy holds config after ${initialS.toFixed(2)} s`);
    await settle(2000);
    const old = run.controllers[0];
    if (!old) throw new Error('no controller');
    const address = await old.adsAddress();
    const port = address.slice(address.lastIndexOf(':') + 1);
    const back = reconnected(fleet);
    const t0 = fleet.now();
    old.child.kill('SIGKILL');
    await old.exited;
    const next = run.startReplica(0, ['--ads-port', port]);
    await next.adsAddress();
    const restartS = (fleet.now() - t0) / 1000;
    const cpu0 = run.cpuMs();
    const peak = peakRss(run);
    progress(`replica restarted and listening after ${restartS.toFixed(2)} s`);
    await fleet.waitFor('every proxy back and ACKed', (st) => st.every(back), 600_000);
    const stormS = (fleet.now() - t0) / 1000;
    const cpu = run.cpuMs() - cpu0;
    const peakKiB = peak.stop();
    progress(`every proxy back after ${stormS.toFixed(2)} s`);
    return [
      { name: 'proxies', value: n, unit: 'proxies' },
      { name: 'single_s', value: stormS, unit: 's' },
      { name: 'single_restart_s', value: restartS, unit: 's' },
      { name: 'single_storm_after_listen_s', value: stormS - restartS, unit: 's' },
      { name: 'single_peak_rss_mib', value: peakKiB / 1024, unit: 'MiB' },
      { name: 'single_storm_cpu_ms_per_proxy', value: cpu / n, unit: 'ms' },
    ];
  } finally {
    await run.stop();
  }
}

async function ha(n: number, simulators: number | undefined, engine: FleetEngine, nodeOptions: string | undefined, progress: (line: string) => void, record: (settings: BenchSettings) => void): Promise<BenchResult[]> {
  const run = await MeshRun.start({ proxies: n, replicas: 3, simulators, engine, controllerNodeOptions: nodeOptions, record }, progress);
  try {
    const initialS = await run.connectFleet();
    const fleet = run.fleet as Fleet;
    progress(`every proxy holds config from 3 replicas after ${initialS.toFixed(2)} s`);
    await settle(2000);
    const victim = run.controllers[0];
    if (!victim) throw new Error('no controller');
    const gone = await victim.adsAddress();
    const survivors = (await Promise.all(run.controllers.map((c) => c.adsAddress()))).filter((a) => a !== gone);
    const moved = new Set(fleet.statuses().filter((s) => s.server === gone).map((s) => s.uuid));
    const back = reconnected(fleet);
    const t0 = fleet.now();
    victim.child.kill('SIGKILL');
    fleet.setServers(survivors);
    await victim.exited;
    const cpu0 = run.cpuMs();
    const peak = peakRss(run);
    const done = (s: ProxyStatus): boolean => !moved.has(s.uuid) || (s.server !== gone && back(s));
    await fleet.waitFor(`the ${moved.size} proxies of the killed replica to converge on the survivors`, (st) => st.every(done), 600_000);
    const stormS = (fleet.now() - t0) / 1000;
    const cpu = run.cpuMs() - cpu0;
    const peakKiB = peak.stop();
    progress(`${moved.size} proxies moved to the survivors after ${stormS.toFixed(2)} s`);
    return [
      { name: 'ha_moved_proxies', value: moved.size, unit: 'proxies' },
      { name: 'ha_s', value: stormS, unit: 's' },
      { name: 'ha_survivors_peak_rss_mib', value: peakKiB / 1024, unit: 'MiB' },
      { name: 'ha_survivors_cpu_ms_per_moved_proxy', value: cpu / Math.max(1, moved.size), unit: 'ms' },
    ];
  } finally {
    await run.stop();
  }
}

export const B6: Benchmark = {
  id: 'B6',
  description: 'reconnect storm: SIGKILL the only replica (restarted), and one of three: until every proxy ACKed again; S = N/10 (options: --proxies 1000 --scenario single|ha|both --simulator go|node --cpu-prof <dir>)',
  async run(options, progress, record) {
    const n = Number(options['proxies'] ?? 1000);
    const scenario = options['scenario'] ?? 'both';
    if (scenario !== 'single' && scenario !== 'ha' && scenario !== 'both') throw new Error(`--scenario must be single, ha or both, not '${scenario}'`);
    const simulators = simulatorProcesses(options);
    const engine = simulatorEngine(options);
    record({ scenario });
    const nodeOptions = options['cpu-prof'] ? `--cpu-prof --cpu-prof-dir=${options['cpu-prof']}` : undefined;
    const results: BenchResult[] = [];
    if (scenario !== 'ha') results.push(...(await single(n, simulators, engine, nodeOptions, progress, record)));
    if (scenario !== 'single') results.push(...(await ha(n, simulators, engine, nodeOptions, progress, record)));
    return results;
  },
};
