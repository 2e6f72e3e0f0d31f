// What B1, B2, B6 and B7 share: a real API server holding the benchmark mesh, osm-controller
// replicas as real processes, and the simulated sidecars (@osm/testing's fleet) in other processes,
// connected over mTLS; plus the readings taken from the outside (/proc, /metrics).
import { ControllerProcess, KubeRest, startFleet, startKubeApiServer, type Fleet, type FleetEngine, type FleetLogger, type KubeApiServer, type ProxyStatus } from '@osm/testing';
import { TYPE_URLS } from '@osm/xds-snapshot';
import { writeBenchMesh, PODS_PER_SERVICE, type BenchMesh } from './mesh-cluster.ts';
import { cpuMs, rssKiB } from './stats.ts';
import type { BenchSettings } from './types.ts';

export interface MeshRunOptions {
  readonly proxies: number;
  readonly replicas: number;
  /** Extra flags for every controller. */
  readonly controllerArgs?: readonly string[];
  /** Node flags for the controllers (e.g. `--cpu-prof --cpu-prof-dir=...`), through NODE_OPTIONS. */
  readonly controllerNodeOptions?: string;
  /** Simulator processes; default the fleet's (one per 2,000 proxies with node, 5,000 with go). */
  readonly simulators?: number;
  /** The fleet's engine (`--simulator`); default go. */
  readonly engine?: FleetEngine;
  /** Keep the bytes of every resource the proxies hold (B7 serves them again; engine node only). */
  readonly keepResources?: boolean;
  /** Where the run's resolved settings go (the benchmark's `record`). */
  readonly record?: (settings: BenchSettings) => void;
}

/** `--simulator go|node`: the engine of the simulated sidecars; go (default) costs the machine far less CPU per proxy. */
export function simulatorEngine(options: Readonly<Record<string, string>>): FleetEngine {
  const engine = options['simulator'] ?? 'go';
  if (engine !== 'go' && engine !== 'node') throw new Error(`--simulator must be go or node, not '${engine}'`);
  return engine;
}

/** `--simulators <k>`: the fleet's processes; undefined: the engine's default. */
export function simulatorProcesses(options: Readonly<Record<string, string>>): number | undefined {
  const value = options['simulators'];
  if (value === undefined) return undefined;
  const k = Number(value);
  if (!Number.isInteger(k) || k < 1) throw new Error(`--simulators must be a whole number of at least 1, not '${value}'`);
  return k;
}

/** The fleet's log lines (the go engine's build included) as progress lines. */
export const fleetLogger = (progress: (line: string) => void): FleetLogger => ({
  info: (obj, msg) => progress(`${msg} ${JSON.stringify(obj)}`),
  error: (obj, msg) => progress(`${msg} ${JSON.stringify(obj)}`),
});

/** Reconnect backoff and initial fetch timeout of every benchmark fleet (shorter than Envoy's defaults: a storm is timed, not waited out). */
export const FLEET_TIMING = { backoff: { baseMs: 250, maxMs: 2000 }, initialFetchTimeoutMs: 1000 } as const;

/** A proxy holds config: connected, no NACK, CDS and LDS and every type it subscribed to ACKed (after `since`, if given). */
export const holdsConfig =
  (since = Number.NEGATIVE_INFINITY) =>
  (s: ProxyStatus): boolean => {
    if (!s.connected || s.nacks > 0) return false;
    const types = Object.values(s.types);
    return s.types[TYPE_URLS.clusters] !== undefined && s.types[TYPE_URLS.listeners] !== undefined && types.every((t) => t.ackedAt !== undefined && t.ackedAt > since);
  };

/** The controller's V8 heap in use, from its /metrics. */
export async function heapUsedBytes(controller: ControllerProcess): Promise<number> {
  const { body } = await controller.get('/metrics');
  return Number(/^nodejs_heap_size_used_bytes(?:\{[^}]*\})? (\S+)$/m.exec(body)?.[1] ?? Number.NaN);
}

export class MeshRun {
  readonly api: KubeApiServer;
  readonly mesh: BenchMesh;
  readonly controllers: ControllerProcess[] = [];
  readonly #options: MeshRunOptions;
  readonly #progress: (line: string) => void;
  fleet: Fleet | undefined;

  private constructor(api: KubeApiServer, mesh: BenchMesh, options: MeshRunOptions, progress: (line: string) => void) {
    this.api = api;
    this.mesh = mesh;
    this.#options = options;
    this.#progress = progress;
  }

  /** Starts the API server, writes the mesh and starts the replicas (ready: their ADS ports listen). */
  static async start(options: MeshRunOptions, progress: (line: string) => void): Promise<MeshRun> {
    if (!Number.isInteger(options.proxies) || options.proxies < 2 * PODS_PER_SERVICE || options.proxies % PODS_PER_SERVICE !== 0) {
      throw new Error(`--proxies must be a multiple of ${PODS_PER_SERVICE} of at least ${2 * PODS_PER_SERVICE}, not ${options.proxies}`);
    }
    const api = await startKubeApiServer({ progress });
    let run: MeshRun | undefined;
    try {
      const mesh = await writeBenchMesh(new KubeRest(api.kubeConfig), options.proxies, progress);
      run = new MeshRun(api, mesh, options, progress);
      options.record?.({ proxies: options.proxies, services: mesh.services.length, simulator: run.engine });
      for (let i = 0; i < options.replicas; i++) run.startReplica(i);
      await Promise.all(run.controllers.map((c) => c.adsAddress()));
      return run;
    } catch (err) {
      await (run ? run.stop() : api.stop());
      throw err;
    }
  }

  /** Starts replica `i` (again, after a kill): same replica id; a new ADS port unless `args` names one. */
  startReplica(i: number, args: readonly string[] = []): ControllerProcess {
    const previous = process.env['NODE_OPTIONS'];
    // ControllerProcess passes its environment on: the Node flags reach the controller, and only it.
    if (this.#options.controllerNodeOptions) process.env['NODE_OPTIONS'] = [previous, this.#options.controllerNodeOptions].filter(Boolean).join(' ');
    try {
      const c = new ControllerProcess(this.api.kubeconfigPath, ['--replica-id', `osm-controller-bench-${i}`, ...(this.#options.controllerArgs ?? []), ...args]);
      this.controllers[i] = c;
      return c;
    } finally {
      if (previous === undefined) delete process.env['NODE_OPTIONS'];
      else process.env['NODE_OPTIONS'] = previous;
    }
  }

  /** The simulated sidecars' engine: go unless the options say node. */
  get engine(): FleetEngine {
    return this.#options.engine ?? 'go';
  }

  pids(): number[] {
    return this.controllers.flatMap((c) => (c.child.pid !== undefined && c.child.exitCode === null && c.child.signalCode === null ? [c.child.pid] : []));
  }

  cpuMs(): number {
    return cpuMs(this.pids());
  }

  rssKiB(): number {
    return rssKiB(this.pids());
  }

  /** Starts the fleet against the replicas' ADS addresses; resolves once every proxy holds config, with the seconds it took. */
  async connectFleet(): Promise<number> {
    const servers = await Promise.all(this.controllers.map((c) => c.adsAddress()));
    const t0 = performance.now();
    this.fleet = await startFleet({
      servers,
      rootPem: this.mesh.rootPem,
      proxies: this.mesh.proxies,
      processes: this.#options.simulators,
      engine: this.engine,
      keepResources: this.#options.keepResources ?? false,
      logger: fleetLogger(this.#progress),
      ...FLEET_TIMING,
    });
    // The process count the fleet chose when --simulators was not given.
    this.#options.record?.({ simulators: this.fleet.pids().length });
    this.#progress(`${this.fleet.pids().length} simulator process(es) ready after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    await this.fleet.waitFor('every proxy to hold config', (st) => st.every(holdsConfig()), 600_000);
    return (performance.now() - t0) / 1000;
  }

  async stop(): Promise<void> {
    await this.fleet?.stop(60_000).catch(() => undefined);
    // SIGTERM lets a profiled controller write its profile.
    await Promise.all(this.controllers.map((c) => c.stop('SIGTERM')));
    await this.api.stop();
  }
}
