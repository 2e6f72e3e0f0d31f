// The Go tools of tools/xds-go, built once and cached (@osm/go-tools):
// - envoy-check, the independent check of our Envoy config: go-control-plane's Envoy types apply
//   Envoy's rules to encoded resources, a bootstrap, or everything an ADS server serves one proxy,
//   and the problems come back as data;
// - xds-reference, go-control-plane's own ADS server (snapshot cache and server over mTLS) as a child
//   process serving pre-encoded resources, so a test or benchmark can serve a fleet the same
//   resources over the same transport as our controller (benchmark B7);
// - xds-fleet, the go engine of the fleet simulator (./fleet), started by the fleet itself.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { goToolBinaries } from '@osm/go-tools';
import { eventually } from './kube-rest.ts';
import { ManagedProcess } from './process.ts';

/** One encoded Envoy resource (an Any's type URL and value); @osm/xds-snapshot's EncodedResource is one. */
export interface EnvoyResource {
  readonly typeUrl: string;
  readonly name: string;
  readonly bytes: Uint8Array;
}

/** A snapshot as @osm/xds-snapshot builds it (only what is read here). */
export interface EnvoySnapshotLike {
  readonly types: Readonly<Record<string, { readonly resources: ReadonlyMap<string, EnvoyResource> }>>;
}

/** A proxy's resources: a Snapshot from @osm/xds-snapshot, or any list. */
export type EnvoyResources = EnvoySnapshotLike | Iterable<EnvoyResource>;

/** What kind of rule a problem breaks (see tools/xds-go/internal/check). */
export type EnvoyRule = 'decode' | 'type' | 'unique' | 'validate' | 'any' | 'reference' | 'regex' | 'consistent' | 'envoy' | 'ads';

export interface EnvoyProblem {
  readonly typeUrl: string;
  readonly name: string;
  /** Path inside the resource in proto field names, e.g. `filter_chains[0].filters[0].typed_config.rds.route_config_name`. */
  readonly field?: string;
  readonly rule: EnvoyRule;
  readonly message: string;
}

export interface EnvoyCheckReport {
  readonly ok: boolean;
  readonly problems: readonly EnvoyProblem[];
}

export interface EnvoyAdsReport extends EnvoyCheckReport {
  /** Every resource the server sent the proxy, decoded names and encoded values. */
  readonly resources: readonly EnvoyResource[];
  /** The control_plane.identifier of the responses ('' when the server sets none). */
  readonly controlPlane: string;
}

export type XdsGoErrorCode = 'CheckFailed' | 'AdsFailed' | 'ReferenceFailed';

/** envoy-check or xds-reference could not do its job (not: found problems, which are data). */
export class XdsGoError extends Error {
  readonly code: XdsGoErrorCode;
  constructor(code: XdsGoErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'XdsGoError';
    this.code = code;
  }
}

const xdsGoModule = fileURLToPath(new URL('../../../tools/xds-go/', import.meta.url));

/** Paths of envoy-check and xds-reference, built on first use (minutes: go-control-plane), then cached. */
export async function xdsGoBinaries(progress: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<{ envoyCheck: string; xdsReference: string }> {
  const built = await goToolBinaries(
    {
      moduleDir: xdsGoModule,
      label: 'envoy-check and xds-reference (go-control-plane)',
      binaries: { 'envoy-check': './cmd/envoy-check', 'xds-reference': './cmd/xds-reference' },
    },
    progress,
  );
  return { envoyCheck: built['envoy-check'] ?? '', xdsReference: built['xds-reference'] ?? '' };
}

/** Path of xds-fleet (the fleet simulator's go engine), built on first use, then cached. */
export async function xdsFleetBinary(progress: (line: string) => void): Promise<string> {
  const built = await goToolBinaries({ moduleDir: xdsGoModule, label: 'xds-fleet (the fleet simulator, go engine)', binaries: { 'xds-fleet': './cmd/xds-fleet' } }, progress);
  return built['xds-fleet'] ?? '';
}

function isSnapshot(input: EnvoyResources): input is EnvoySnapshotLike {
  return typeof input === 'object' && input !== null && 'types' in input;
}

/** The resources of a snapshot or list, in order. */
function envoyResourceList(input: EnvoyResources): EnvoyResource[] {
  if (!isSnapshot(input)) return [...input];
  return Object.values(input.types).flatMap((set) => [...set.resources.values()]);
}

/** The exchange format of tools/xds-go: one JSON object per resource. */
function envoyResourceLines(input: EnvoyResources): string {
  return envoyResourceList(input)
    .map((r) => `${JSON.stringify({ typeUrl: r.typeUrl, name: r.name, value: Buffer.from(r.bytes).toString('base64') })}\n`)
    .join('');
}

/** Problems as readable lines, for assertion messages. */
export function formatEnvoyProblems(problems: readonly EnvoyProblem[]): string {
  return problems.map((p) => `${p.typeUrl.replace(/^.*\//, '')} ${JSON.stringify(p.name)}${p.field ? ` ${p.field}` : ''} [${p.rule}]: ${p.message}`).join('\n');
}

interface Run {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

function runTool(binary: string, args: readonly string[], input: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status: status ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
    child.stdin.on('error', () => undefined); // a tool that exits early closes its stdin; its status says why
    child.stdin.end(input);
  });
}

function problemsOf(run: Run, code: XdsGoErrorCode, what: string): EnvoyProblem[] {
  if (run.status !== 0 && run.status !== 1) throw new XdsGoError(code, `${what} failed (exit ${run.status}): ${run.stderr.trim()}`);
  return run.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as EnvoyProblem);
}

/** Applies Envoy's rules to one proxy's resources; every reference must resolve among them. */
export async function checkEnvoyResources(resources: EnvoyResources): Promise<EnvoyCheckReport> {
  const { envoyCheck } = await xdsGoBinaries();
  const problems = problemsOf(await runTool(envoyCheck, [], envoyResourceLines(resources)), 'CheckFailed', 'envoy-check');
  return { ok: problems.length === 0, problems };
}

const BOOTSTRAP_TYPE_URL = 'type.googleapis.com/envoy.config.bootstrap.v3.Bootstrap';

/**
 * Applies Envoy's rules to a bootstrap: encoded bytes, or Envoy's JSON form (the object a bootstrap
 * YAML parses to); its static resources are its universe for references.
 */
export async function checkEnvoyBootstrap(bootstrap: Uint8Array | object): Promise<EnvoyCheckReport> {
  const { envoyCheck } = await xdsGoBinaries();
  const line =
    bootstrap instanceof Uint8Array
      ? { typeUrl: BOOTSTRAP_TYPE_URL, name: 'bootstrap', value: Buffer.from(bootstrap).toString('base64') }
      : { typeUrl: BOOTSTRAP_TYPE_URL, name: 'bootstrap', json: bootstrap };
  const problems = problemsOf(await runTool(envoyCheck, [], `${JSON.stringify(line)}\n`), 'CheckFailed', 'envoy-check');
  return { ok: problems.length === 0, problems };
}

export interface AdsCheckOptions {
  /** host:port of the ADS server. */
  readonly server: string;
  /** Roots the server certificate is verified against (PEM). */
  readonly caPem: string;
  /** The proxy's client (bootstrap) certificate and key; leave both out to connect without one. */
  readonly certPem?: string;
  readonly keyPem?: string;
  /** Name the server certificate must carry (default: the host of `server`). */
  readonly serverName?: string;
  /** Envoy's node.id. */
  readonly nodeId: string;
  readonly nodeCluster?: string;
  /** Give up waiting for resources after this long (default 30 s); what arrived is checked. */
  readonly timeoutMs?: number;
}

/**
 * Connects like Envoy (mTLS, ADS: CDS and LDS wildcard, then the EDS, RDS and SDS names they name,
 * ACKing each response), collects every resource of the proxy and checks them. Rejects with
 * XdsGoError 'AdsFailed' when the server cannot be reached or refuses the stream.
 */
export async function checkEnvoyOverAds(options: AdsCheckOptions): Promise<EnvoyAdsReport> {
  const { envoyCheck } = await xdsGoBinaries();
  const dir = mkdtempSync(join(tmpdir(), 'osm-envoy-check-'));
  try {
    const file = (name: string, content: string): string => {
      const path = join(dir, name);
      writeFileSync(path, content, { mode: 0o600 });
      return path;
    };
    const args = ['ads', '--server', options.server, '--ca', file('ca.pem', options.caPem), '--node-id', options.nodeId, '--resources-out', join(dir, 'resources.jsonl')];
    if (options.certPem !== undefined || options.keyPem !== undefined) args.push('--cert', file('cert.pem', options.certPem ?? ''), '--key', file('key.pem', options.keyPem ?? ''));
    if (options.serverName) args.push('--server-name', options.serverName);
    if (options.nodeCluster) args.push('--node-cluster', options.nodeCluster);
    args.push('--timeout', `${options.timeoutMs ?? 30_000}ms`);
    const run = await runTool(envoyCheck, args, '');
    const problems = problemsOf(run, 'AdsFailed', `envoy-check ads against ${options.server}`);
    const resources = readFileSync(join(dir, 'resources.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => {
        const line = JSON.parse(l) as { typeUrl: string; name: string; value?: string };
        return { typeUrl: line.typeUrl, name: line.name, bytes: new Uint8Array(Buffer.from(line.value ?? '', 'base64')) };
      });
    const summary = /^envoy-check ads: (\{.*\})$/m.exec(run.stderr)?.[1];
    const controlPlane = summary ? (JSON.parse(summary) as { controlPlane: string }).controlPlane : '';
    return { ok: problems.length === 0, problems, resources, controlPlane };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Which node gets which resources. The same object given for several nodes is written and held once. */
export interface XdsReferenceSnapshots {
  /** Served to every node without an entry in `nodes`. */
  readonly shared?: EnvoyResources;
  /** By Envoy node.id. */
  readonly nodes?: ReadonlyMap<string, EnvoyResources>;
}

export interface XdsReferenceOptions {
  /** The server certificate and key (PEM); clients verify it against their root. */
  readonly certPem: string;
  readonly keyPem: string;
  /** Roots client certificates must chain to (PEM); a client without one is refused. */
  readonly caPem: string;
  readonly snapshots: XdsReferenceSnapshots;
  /** Default 127.0.0.1, port 0 (a free port). */
  readonly host?: string;
  readonly port?: number;
}

export interface XdsReference {
  /** host:port it listens on. */
  readonly address: string;
  readonly port: number;
  readonly pid: number;
  /** Replaces every snapshot (SIGHUP); resolves once the server has loaded them. */
  replaceSnapshots(snapshots: XdsReferenceSnapshots): Promise<void>;
  /** SIGTERM (graceful), then removes its files; safe to call twice. */
  stop(): Promise<void>;
}

interface ReferenceEvent {
  readonly event: 'listening' | 'reloaded' | 'reload-failed';
  readonly address?: string;
  readonly generation?: number;
  readonly error?: string;
}

/** The JSON event lines xds-reference printed so far (its log also holds plain stderr lines). */
function eventsIn(logFile: string): ReferenceEvent[] {
  let text: string;
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    return [];
  }
  const events: ReferenceEvent[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const parsed = JSON.parse(line) as Partial<ReferenceEvent>;
      if (typeof parsed.event === 'string') events.push(parsed as ReferenceEvent);
    } catch {
      // not one of its events
    }
  }
  return events;
}

/** Writes generation `generation` of the snapshots under dir and points the manifest at it (atomically). */
function writeSnapshots(dir: string, generation: number, snapshots: XdsReferenceSnapshots): void {
  const genDir = join(dir, `gen-${generation}`);
  mkdirSync(genDir);
  const keys = new Map<EnvoyResources, string>();
  const files: Record<string, string> = {};
  const keyOf = (resources: EnvoyResources): string => {
    let key = keys.get(resources);
    if (key === undefined) {
      key = `s${keys.size}`;
      keys.set(resources, key);
      const path = join(genDir, `${key}.jsonl`);
      writeFileSync(path, envoyResourceLines(resources));
      files[key] = path;
    }
    return key;
  };
  const nodes: Record<string, string> = {};
  for (const [node, resources] of snapshots.nodes ?? []) nodes[node] = keyOf(resources);
  const manifest = { generation, snapshots: files, nodes, default: snapshots.shared ? keyOf(snapshots.shared) : '' };
  writeFileSync(join(dir, 'manifest.json.tmp'), JSON.stringify(manifest));
  renameSync(join(dir, 'manifest.json.tmp'), join(dir, 'manifest.json'));
}

/** Starts go-control-plane's reference ADS server; resolves when it listens. */
export async function startXdsReference(options: XdsReferenceOptions): Promise<XdsReference> {
  const { xdsReference } = await xdsGoBinaries();
  const dir = mkdtempSync(join(tmpdir(), 'osm-xds-reference-'));
  const file = (name: string, content: string): string => {
    const path = join(dir, name);
    writeFileSync(path, content, { mode: 0o600 });
    return path;
  };
  let generation = 1;
  writeSnapshots(dir, generation, options.snapshots);
  const args = [
    '--address', `${options.host ?? '127.0.0.1'}:${options.port ?? 0}`,
    '--manifest', join(dir, 'manifest.json'),
    '--cert', file('server.pem', options.certPem),
    '--key', file('server-key.pem', options.keyPem),
    '--ca', file('clients-ca.pem', options.caPem),
  ];
  const proc = new ManagedProcess('xds-reference', xdsReference, args, join(dir, 'xds-reference.log'));
  proc.start();
  let listening: ReferenceEvent | undefined;
  try {
    await eventually('xds-reference to listen', () => {
      proc.assertRunning();
      listening = eventsIn(proc.logFile).find((e) => e.event === 'listening');
      return listening !== undefined;
    });
  } catch (err) {
    await proc.stop('SIGKILL');
    const tail = proc.tail();
    rmSync(dir, { recursive: true, force: true });
    throw new XdsGoError('ReferenceFailed', `xds-reference did not start: ${tail}`, { cause: err });
  }
  const address = listening?.address ?? '';
  const pid = proc.pid ?? 0;
  let stopped = false;
  let reloads = 0;
  return {
    address,
    port: Number(address.slice(address.lastIndexOf(':') + 1)),
    pid,
    async replaceSnapshots(snapshots: XdsReferenceSnapshots): Promise<void> {
      generation++;
      writeSnapshots(dir, generation, snapshots);
      // Each SIGHUP ends in exactly one event, reloaded or reload-failed; calls are awaited one at a time.
      reloads++;
      const nth = reloads;
      process.kill(pid, 'SIGHUP');
      let outcome: ReferenceEvent | undefined;
      await eventually(`xds-reference to load generation ${generation}`, () => {
        proc.assertRunning();
        outcome = eventsIn(proc.logFile).filter((e) => e.event !== 'listening')[nth - 1];
        return outcome !== undefined;
      });
      if (outcome?.event === 'reload-failed') throw new XdsGoError('ReferenceFailed', `xds-reference could not load the new snapshots: ${outcome.error ?? ''}`);
      rmSync(join(dir, `gen-${generation - 1}`), { recursive: true, force: true });
    },
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      await proc.stop('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
