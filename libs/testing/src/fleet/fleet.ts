// The fleet: N simulated Envoy sidecars in child processes (never in the caller's event loop), their
// status mirrored here, and the controls a test or benchmark needs (servers, NACK rules, waiting).
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { killOnExit } from '../process.ts';
import { xdsFleetBinary } from '../xds-go.ts';
import { monotonicNow, type FromWorker, type HeldResource, type SimulatedProxySpec, type ToWorker, type WireStatus, type WorkerConfig } from './ipc.ts';
import { checkNackRules, checkNackRulesForGo, type NackRule } from './nack-rules.ts';
import type { AdsMode } from './session.ts';

export const DEFAULT_SERVER_NAME = 'osm-controller.osm-system.svc.cluster.local';
/** Proxies per simulator process when `processes` is not given, by engine. */
export const PROXIES_PER_PROCESS: Readonly<Record<FleetEngine, number>> = { node: 2000, go: 5000 };

/**
 * What runs the simulated proxies: 'node' (simulator.ts in Node child processes, every option) or
 * 'go' (tools/xds-go/cmd/xds-fleet, the same behaviour at a fraction of the CPU; SotW only, keeps no
 * resources).
 */
export type FleetEngine = 'node' | 'go';

export interface FleetOptions {
  /** 'node' (default) or 'go'. */
  readonly engine?: FleetEngine;
  /** ADS server addresses (`host:port`); each (re)connect picks one at random. */
  readonly servers: readonly string[];
  /** The mesh root (PEM) the server certificate is verified against. */
  readonly rootPem: string;
  readonly proxies: readonly SimulatedProxySpec[];
  /** Server name verified in the server certificate; default `osm-controller.osm-system.svc.cluster.local`. */
  readonly serverName?: string;
  /** 'sotw' (default) or 'delta' (node engine only). */
  readonly mode?: AdsMode;
  /** Simulator processes; default one per 2,000 proxies (node) or 5,000 (go). */
  readonly processes?: number;
  /** Reconnect backoff (Envoy's defaults): base 500 ms, max 30 s; each wait is random below the current bound, which doubles. */
  readonly backoff?: { readonly baseMs?: number; readonly maxMs?: number };
  /** Envoy's set_node_on_first_message_only; default true (OSM's bootstrap). */
  readonly nodeOnFirstMessageOnly?: boolean;
  /** How long warming clusters wait for their EDS/SDS before LDS starts anyway (Envoy's initial_fetch_timeout); default 15 s, 0 = forever. */
  readonly initialFetchTimeoutMs?: number;
  /** Spread the first connects uniformly over this many ms; default 0 (all at once). */
  readonly rampMs?: number;
  readonly nackRules?: readonly NackRule[];
  /** Keep every held resource's bytes, for `resources()`; default false (node engine only). */
  readonly keepResources?: boolean;
  /** How often processes report changed statuses; default 50 ms. */
  readonly statusIntervalMs?: number;
  /** Extra Node flags for the simulator processes (e.g. `--cpu-prof`, `--max-old-space-size=4096`); node engine only. */
  readonly nodeOptions?: readonly string[];
  readonly logger?: FleetLogger;
}

/** The part of a pino logger the fleet uses. */
export interface FleetLogger {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** One type URL of one proxy. Times are monotonic ms (`fleet.now()`), undefined until it happens. */
export interface TypeStatus {
  /** Version of the last accepted response (delta: its system_version_info). */
  readonly version: string;
  /** Nonce of the last response received on the current stream (ACKed or NACKed). */
  readonly nonce: string;
  /** Names of the resources held. */
  readonly names: readonly string[];
  /** Names asked for (empty for the wildcard CDS and LDS). */
  readonly subscribed: readonly string[];
  readonly responses: number;
  readonly nacks: number;
  /** error_detail of the last NACK, '' if none. */
  readonly lastNack: string;
  readonly ackedAt: number | undefined;
  readonly responseAt: number | undefined;
}

export interface ProxyStatus {
  readonly uuid: string;
  /** Index of the simulator process running it. */
  readonly process: number;
  /** The connection is up with the stream open (Envoy's connected_state); a refused proxy may be connected for a moment. */
  readonly connected: boolean;
  /** The address of the current (or last) connection. */
  readonly server: string;
  /** control_plane.identifier of the last response: the replica serving it. */
  readonly replica: string;
  /** Streams established so far. */
  readonly connects: number;
  /** Connection attempts so far. */
  readonly attempts: number;
  /** How the last stream ended: gRPC status code and details. */
  readonly lastError: string;
  readonly nacks: number;
  readonly lastAckAt: number | undefined;
  readonly lastResponseAt: number | undefined;
  /** By type URL, in subscription order. */
  readonly types: Readonly<Record<string, TypeStatus>>;
}

export type FleetErrorCode = 'InvalidOptions' | 'Timeout' | 'ProcessExited' | 'NotKept' | 'UnknownProxy' | 'Stopped';

export class FleetError extends Error {
  readonly code: FleetErrorCode;
  constructor(code: FleetErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FleetError';
    this.code = code;
  }
}

export type OptionsCheck = { readonly valid: true } | { readonly valid: false; readonly errors: readonly string[] };

const hostPort = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;

/** Checks fleet options; each error names the field and what is allowed. */
export function checkFleetOptions(o: FleetOptions): OptionsCheck {
  const errors: string[] = [];
  errors.push(...checkServers(o.servers));
  if (!o.rootPem?.includes('-----BEGIN CERTIFICATE-----')) errors.push('rootPem must hold a PEM certificate (the mesh root)');
  if (!Array.isArray(o.proxies) || o.proxies.length === 0) errors.push('proxies must list at least one proxy');
  const seen = new Set<string>();
  (o.proxies ?? []).forEach((p, i) => {
    if (!p.uuid) errors.push(`proxies[${i}].uuid is empty`);
    else if (seen.has(p.uuid)) errors.push(`proxies[${i}].uuid ${p.uuid} appears twice`);
    seen.add(p.uuid);
    if (!p.certificatePem !== !p.privateKeyPem) errors.push(`proxies[${i}]: give both certificatePem and privateKeyPem, or neither`);
  });
  if (o.mode !== undefined && o.mode !== 'sotw' && o.mode !== 'delta') errors.push(`mode ${JSON.stringify(o.mode)} must be 'sotw' or 'delta'`);
  if (o.processes !== undefined && (!Number.isInteger(o.processes) || o.processes < 1)) errors.push('processes must be a whole number of at least 1');
  const base = o.backoff?.baseMs ?? 500;
  const max = o.backoff?.maxMs ?? 30_000;
  if (!(base > 0) || !(max >= base)) errors.push('backoff needs baseMs > 0 and maxMs >= baseMs');
  for (const [name, value] of [['initialFetchTimeoutMs', o.initialFetchTimeoutMs], ['rampMs', o.rampMs], ['statusIntervalMs', o.statusIntervalMs]] as const) {
    if (value !== undefined && !(value >= 0)) errors.push(`${name} must be a number >= 0`);
  }
  const rules = checkNackRules(o.nackRules ?? []);
  if (!rules.valid) errors.push(...rules.errors);
  if (o.engine !== undefined && o.engine !== 'node' && o.engine !== 'go') errors.push(`engine ${JSON.stringify(o.engine)} must be 'node' or 'go'`);
  if (o.engine === 'go') {
    if (o.mode === 'delta') errors.push("mode 'delta' is not supported by engine 'go' (state-of-the-world only): use engine 'node'");
    if (o.keepResources) errors.push("keepResources is not supported by engine 'go' (it keeps no resources): use engine 'node'");
    if ((o.nodeOptions ?? []).length > 0) errors.push("nodeOptions apply to engine 'node' only, not engine 'go'");
    errors.push(...checkNackRulesForGo(o.nackRules ?? []));
  }
  return errors.length === 0 ? { valid: true } : { valid: false, errors };
}

function checkServers(servers: readonly string[]): string[] {
  if (!Array.isArray(servers) || servers.length === 0) return ['servers must list at least one host:port'];
  return servers.flatMap((s, i) => (hostPort.test(s) ? [] : [`servers[${i}] ${JSON.stringify(s)} must be host:port`]));
}

const workerPath = fileURLToPath(new URL('./worker.ts', import.meta.url));
const silent: FleetLogger = { info: () => undefined, error: () => undefined };

interface Waiter {
  readonly check: () => boolean;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

/** How a simulator process is started: a Node worker (IPC) or the xds-fleet binary (JSON lines on stdin/stdout). */
type Launch = { readonly engine: 'node'; readonly nodeOptions: readonly string[] } | { readonly engine: 'go'; readonly binary: string };

class SimulatorProcess {
  readonly index: number;
  readonly child: ChildProcess;
  readonly uuids: readonly string[];
  readonly names = new Map<number, readonly string[]>();
  readonly replies = new Map<number, (message: FromWorker) => void>();
  readonly exited: Promise<void>;
  readonly #send: (message: ToWorker) => void;
  running = true;

  constructor(index: number, uuids: readonly string[], launch: Launch) {
    this.index = index;
    this.uuids = uuids;
    if (launch.engine === 'node') {
      // Raise the soft limit on open files to the hard one: each proxy holds a connection.
      const argv = [process.execPath, '--disable-warning=ExperimentalWarning', ...launch.nodeOptions, workerPath];
      const child = spawn('/bin/sh', ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"', ...argv], {
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
        serialization: 'advanced',
      });
      this.child = child;
      this.#send = (message) => {
        if (child.connected) child.send(message);
      };
    } else {
      // xds-fleet raises its open-file limit itself, and exits when its stdin closes (this process is gone).
      const child = spawn(launch.binary, [], { stdio: ['pipe', 'pipe', 'inherit'] });
      this.child = child;
      child.stdin.on('error', () => undefined); // it exited: its exit is reported
      this.#send = (message) => {
        if (child.stdin.writable) child.stdin.write(`${JSON.stringify(message)}\n`);
      };
    }
    killOnExit(this.child);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.once('error', () => resolve());
    });
  }

  /** Calls `handle` with each message the process sends. */
  onMessage(handle: (message: FromWorker) => void): void {
    const { stdout } = this.child;
    if (stdout) createInterface({ input: stdout, crlfDelay: Infinity }).on('line', (line) => handle(JSON.parse(line) as FromWorker));
    else this.child.on('message', handle);
  }

  send(message: ToWorker): void {
    if (this.running) this.#send(message);
  }
}

export class Fleet {
  readonly #options: FleetOptions;
  readonly #log: FleetLogger;
  readonly #processes: SimulatorProcess[] = [];
  readonly #statuses = new Map<string, ProxyStatus>();
  readonly #where = new Map<string, { process: SimulatorProcess; index: number }>();
  readonly #waiters = new Set<Waiter>();
  #checkScheduled = false;
  #nextId = 0;
  #stopping = false;
  readonly ready: Promise<void>;

  /** `goBinary`: the xds-fleet binary, for engine 'go'. */
  constructor(options: FleetOptions, goBinary?: string) {
    assertValid(options);
    this.#options = options;
    this.#log = options.logger ?? silent;
    const engine = options.engine ?? 'node';
    const launch: Launch = engine === 'go' ? { engine, binary: goBinary ?? '' } : { engine, nodeOptions: options.nodeOptions ?? [] };
    const count = Math.min(options.processes ?? Math.ceil(options.proxies.length / PROXIES_PER_PROCESS[engine]), options.proxies.length);
    const per = Math.ceil(options.proxies.length / count);
    const readies: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      const specs = options.proxies.slice(i * per, (i + 1) * per);
      if (specs.length === 0) break;
      const p = new SimulatorProcess(i, specs.map((s) => s.uuid), launch);
      specs.forEach((s, j) => {
        this.#where.set(s.uuid, { process: p, index: j });
        this.#statuses.set(s.uuid, initialStatus(s.uuid, i));
      });
      this.#processes.push(p);
      readies.push(this.#attach(p, specs));
    }
    this.ready = Promise.all(readies).then(() => this.#log.info({ engine, processes: this.#processes.length, proxies: options.proxies.length }, 'fleet started'));
  }

  #attach(p: SimulatorProcess, specs: readonly SimulatedProxySpec[]): Promise<void> {
    const o = this.#options;
    const config: WorkerConfig = {
      index: p.index,
      mode: o.mode ?? 'sotw',
      servers: o.servers,
      serverName: o.serverName ?? DEFAULT_SERVER_NAME,
      rootPem: o.rootPem,
      backoffBaseMs: o.backoff?.baseMs ?? 500,
      backoffMaxMs: o.backoff?.maxMs ?? 30_000,
      nodeOnFirstMessageOnly: o.nodeOnFirstMessageOnly ?? true,
      initialFetchTimeoutMs: o.initialFetchTimeoutMs ?? 15_000,
      rampMs: o.rampMs ?? 0,
      keepResources: o.keepResources ?? false,
      statusIntervalMs: o.statusIntervalMs ?? 50,
      nackRules: o.nackRules ?? [],
      proxies: specs,
    };
    return new Promise((resolve, reject) => {
      p.onMessage((m) => {
        if (m.t === 'ready') resolve();
        else this.#onMessage(p, m);
      });
      void p.exited.then(() => {
        p.running = false;
        const err = new FleetError('ProcessExited', `simulator process ${p.index} (pid ${p.child.pid}) exited with ${p.child.exitCode ?? p.child.signalCode}`);
        reject(err);
        for (const reply of p.replies.values()) reply({ t: 'stopped' });
        // Its proxies are gone with it: their last reports must not say otherwise.
        for (const uuid of p.uuids) {
          const s = this.#statuses.get(uuid);
          if (s?.connected) this.#statuses.set(uuid, { ...s, connected: false, lastError: err.message });
        }
        this.#scheduleCheck();
        if (this.#stopping) return;
        this.#log.error({ process: p.index, pid: p.child.pid, code: p.child.exitCode, signal: p.child.signalCode }, 'fleet simulator process exited');
        for (const w of this.#waiters) w.reject(err);
      });
      p.send({ t: 'start', config });
    });
  }

  #onMessage(p: SimulatorProcess, m: FromWorker): void {
    switch (m.t) {
      case 'names':
        p.names.set(m.id, m.names);
        break;
      case 'status':
        for (const s of m.statuses) this.#update(p, s);
        this.#scheduleCheck();
        break;
      case 'done':
      case 'resources': {
        const reply = p.replies.get(m.id);
        p.replies.delete(m.id);
        reply?.(m);
        break;
      }
      default:
        break;
    }
  }

  #update(p: SimulatorProcess, s: WireStatus): void {
    const uuid = p.uuids[s.i];
    if (uuid === undefined) return;
    const time = (t: number): number | undefined => (t < 0 ? undefined : t);
    const list = (id: number): readonly string[] => p.names.get(id) ?? [];
    const types: Record<string, TypeStatus> = {};
    let nacks = 0;
    for (const t of s.types) {
      nacks += t.nacks;
      types[t.typeUrl] = {
        version: t.version,
        nonce: t.nonce,
        names: list(t.names),
        subscribed: list(t.subscribed),
        responses: t.responses,
        nacks: t.nacks,
        lastNack: t.lastNack,
        ackedAt: time(t.ackedAt),
        responseAt: time(t.responseAt),
      };
    }
    this.#statuses.set(uuid, {
      uuid,
      process: p.index,
      connected: s.connected,
      server: s.server,
      replica: s.replica,
      connects: s.connects,
      attempts: s.attempts,
      lastError: s.lastError,
      nacks,
      lastAckAt: time(s.lastAckAt),
      lastResponseAt: time(s.lastResponseAt),
      types,
    });
  }

  // Many status messages arrive in a burst: check the waiters once after them.
  #scheduleCheck(): void {
    if (this.#checkScheduled || this.#waiters.size === 0) return;
    this.#checkScheduled = true;
    setImmediate(() => {
      this.#checkScheduled = false;
      for (const w of this.#waiters) if (w.check()) w.resolve();
    });
  }

  /** Monotonic ms on the clock of every status time: take it before a change, compare after. */
  now(): number {
    return monotonicNow();
  }

  /** Every proxy's last reported status, in the order the proxies were given. */
  statuses(): readonly ProxyStatus[] {
    return [...this.#statuses.values()];
  }

  status(uuid: string): ProxyStatus | undefined {
    return this.#statuses.get(uuid);
  }

  /** Resolves with the statuses once `predicate` holds for them; rejects after `timeoutMs` naming `what`. */
  waitFor(what: string, predicate: (statuses: readonly ProxyStatus[]) => boolean, timeoutMs = 60_000): Promise<readonly ProxyStatus[]> {
    if (this.#stopping) return Promise.reject(new FleetError('Stopped', `cannot wait for ${what}: the fleet is stopped`));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        check: () => predicate(this.statuses()),
        resolve: () => {
          done();
          resolve(this.statuses());
        },
        reject: (err) => {
          done();
          reject(err);
        },
      };
      const timer = setTimeout(() => waiter.reject(new FleetError('Timeout', `timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
      };
      this.#waiters.add(waiter);
      if (waiter.check()) waiter.resolve();
    });
  }

  #request<T extends FromWorker>(p: SimulatorProcess, make: (id: number) => ToWorker): Promise<T> {
    const id = this.#nextId++;
    return new Promise((resolve) => {
      if (!p.running) return resolve({ t: 'stopped' } as T);
      p.replies.set(id, (m) => resolve(m as T));
      p.send(make(id));
    });
  }

  /** After this resolves, the statuses hold everything the processes knew when it was called. */
  async sync(): Promise<void> {
    await Promise.all(this.#processes.map((p) => this.#request(p, (id) => ({ t: 'flush', id }))));
  }

  /** Servers for the connects from now on (connections already open stay where they are). */
  setServers(servers: readonly string[]): void {
    const errors = checkServers(servers);
    if (errors.length > 0) throw new FleetError('InvalidOptions', errors.join('; '));
    for (const p of this.#processes) p.send({ t: 'servers', servers });
  }

  /** Replaces the NACK rules; they apply to responses received from now on. */
  async setNackRules(rules: readonly NackRule[]): Promise<void> {
    const check = checkNackRules(rules);
    const errors = [...(check.valid ? [] : check.errors), ...(this.#options.engine === 'go' ? checkNackRulesForGo(rules) : [])];
    if (errors.length > 0) throw new FleetError('InvalidOptions', errors.join('; '));
    for (const p of this.#processes) p.send({ t: 'nack-rules', rules });
    // Messages to a process are handled in order: once a flush is answered, the rules are in place.
    await this.sync();
  }

  /** The resources a proxy holds, by type URL (needs `keepResources`). */
  async resources(uuid: string): Promise<Readonly<Record<string, readonly HeldResource[]>>> {
    if (!this.#options.keepResources) throw new FleetError('NotKept', 'resources() needs the fleet started with keepResources: true');
    const where = this.#where.get(uuid);
    if (!where) throw new FleetError('UnknownProxy', `no proxy ${uuid} in this fleet`);
    const reply = await this.#request<FromWorker>(where.process, (id) => ({ t: 'resources', id, i: where.index }));
    if (reply.t !== 'resources') throw new FleetError('ProcessExited', `simulator process ${where.process.index} is not running`);
    return reply.resources;
  }

  pids(): number[] {
    return this.#processes.filter((p) => p.running && p.child.pid !== undefined).map((p) => p.child.pid as number);
  }

  /** Closes every stream, then ends the processes (SIGKILL after `graceMs`). */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    for (const w of this.#waiters) w.reject(new FleetError('Stopped', 'the fleet was stopped'));
    for (const p of this.#processes) p.send({ t: 'stop' });
    await Promise.all(
      this.#processes.map(async (p) => {
        const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
        await p.exited;
        clearTimeout(timer);
      }),
    );
    this.#log.info({ processes: this.#processes.length }, 'fleet stopped');
  }
}

function initialStatus(uuid: string, process: number): ProxyStatus {
  return { uuid, process, connected: false, server: '', replica: '', connects: 0, attempts: 0, lastError: '', nacks: 0, lastAckAt: undefined, lastResponseAt: undefined, types: {} };
}

function assertValid(options: FleetOptions): void {
  const check = checkFleetOptions(options);
  if (!check.valid) throw new FleetError('InvalidOptions', `invalid fleet options: ${check.errors.join('; ')}`);
}

/** Starts the fleet's processes and resolves once each has set up its proxies (they connect from then on); engine 'go' builds xds-fleet first if needed. */
export async function startFleet(options: FleetOptions): Promise<Fleet> {
  assertValid(options);
  const log = options.logger ?? silent;
  const goBinary = options.engine === 'go' ? await xdsFleetBinary((line) => log.info({ engine: 'go' }, line)) : undefined;
  const fleet = new Fleet(options, goBinary);
  try {
    await fleet.ready;
  } catch (err) {
    await fleet.stop(1000);
    throw err;
  }
  return fleet;
}
