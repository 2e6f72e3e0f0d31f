// A real Prometheus for tests: the server and promtool pinned by tools/prometheus/go.mod, built once and
// cached (@osm/go-tools), started on a free loopback port with its data in a temporary folder, scraping
// the admin ports it is given every second and evaluating the rule files it is given at the same pace,
// so a test sees rates and alerts after seconds rather than minutes.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { goToolBinaries } from '@osm/go-tools';
import { freePort } from './ports.ts';
import { httpOk, ManagedProcess, waitFor } from './process.ts';
import { reapOrphans, writeOwnerRecord } from './reaper.ts';

export interface PrometheusBinaries {
  readonly prometheus: string;
  readonly promtool: string;
}

const prometheusModule = fileURLToPath(new URL('../../../tools/prometheus/', import.meta.url));

/** The pinned prometheus and promtool, built into the cache first if needed (minutes, once). */
export async function prometheusBinaries(progress: (line: string) => void): Promise<PrometheusBinaries> {
  const built = await goToolBinaries(
    {
      moduleDir: prometheusModule,
      label: 'prometheus and promtool',
      binaries: { prometheus: 'github.com/prometheus/prometheus/cmd/prometheus', promtool: 'github.com/prometheus/prometheus/cmd/promtool' },
      // Static targets only: without the service-discovery plugins (the cloud SDKs, client-go) the
      // first build compiles about half as much.
      buildFlags: ['-tags=remove_all_sd'],
    },
    progress,
  );
  return { prometheus: built['prometheus'] ?? '', promtool: built['promtool'] ?? '' };
}

/** Every Prometheus folder is `<tmpdir>/osm-ts-prometheus-XXXXXX`. */
const DIR_PREFIX = 'osm-ts-prometheus-';

const defaultProgress = (line: string): void => void process.stderr.write(`[prometheus] ${line}\n`);

export interface PromtoolResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the pinned promtool with `args`, `stdin` piped in. Never throws on a non-zero exit: the result says. */
export async function promtool(args: readonly string[], options: { stdin?: string; progress?: (line: string) => void } = {}): Promise<PromtoolResult> {
  const { promtool: binary } = await prometheusBinaries(options.progress ?? defaultProgress);
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}

export interface MetricsLintProblem {
  /** The metric family the problem is about. */
  readonly metric: string;
  /** promlint's text, e.g. `counter metrics should have "_total" suffix`. */
  readonly problem: string;
}

export type MetricsCheck =
  | { readonly parsed: true; readonly problems: readonly MetricsLintProblem[] }
  | { readonly parsed: false; readonly error: string };

/**
 * `promtool check metrics` on a Prometheus text exposition: whether it parses, and promlint's problems
 * (an empty list when it passes). The caller decides which problems it accepts.
 */
export async function checkMetrics(exposition: string, options: { progress?: (line: string) => void } = {}): Promise<MetricsCheck> {
  const { code, stdout, stderr } = await promtool(['check', 'metrics'], { stdin: exposition, ...options });
  // promtool exits 0 when clean, 3 (its lint exit code) with one `<metric> <problem>` line per problem.
  if (code === 0) return { parsed: true, problems: [] };
  if (code !== 3) return { parsed: false, error: `promtool check metrics exited ${code}: ${stderr}${stdout}`.trim() };
  const problems = stderr
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const space = line.indexOf(' ');
      return { metric: line.slice(0, space), problem: line.slice(space + 1) };
    });
  return { parsed: true, problems };
}

export interface ScrapeTarget {
  /** The `job` label, as a ServiceMonitor names it after the Service (`osm-controller`, ...). */
  readonly job: string;
  /** `host:port` of an admin server; its `/metrics` is scraped. */
  readonly address: string;
}

export interface PrometheusOptions {
  readonly targets: readonly ScrapeTarget[];
  /** Scrape and rule evaluation interval in seconds. Default 1. */
  readonly intervalSeconds?: number;
  /** Absolute paths of rule files to load and evaluate (e.g. deploy/prometheus/rules.yaml). */
  readonly ruleFiles?: readonly string[];
  /** Where build progress goes (default: stderr). */
  readonly progress?: (line: string) => void;
}

export interface Sample {
  readonly metric: Readonly<Record<string, string>>;
  /** [Unix seconds, value as Prometheus prints it]. */
  readonly value: readonly [number, string];
}

export type QueryResult =
  | { readonly resultType: 'vector'; readonly result: readonly Sample[] }
  | { readonly resultType: 'matrix'; readonly result: readonly { metric: Readonly<Record<string, string>>; values: readonly (readonly [number, string])[] }[] }
  | { readonly resultType: 'scalar' | 'string'; readonly result: readonly [number, string] };

export interface TargetHealth {
  readonly job: string;
  readonly instance: string;
  readonly health: 'up' | 'down' | 'unknown';
  readonly lastError: string;
}

export interface RuleHealth {
  readonly group: string;
  /** The alert's or the recorded series' name. */
  readonly name: string;
  readonly type: 'alerting' | 'recording';
  readonly query: string;
  readonly health: 'ok' | 'err' | 'unknown';
  readonly lastError?: string;
  /** Alerting rules: inactive, pending or firing. */
  readonly state?: string;
}

export interface Prometheus {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** An instant query at the current time; throws with Prometheus's error for a bad query. */
  query(expr: string): Promise<QueryResult>;
  targets(): Promise<TargetHealth[]>;
  /** Every loaded rule with its last evaluation's health. */
  rules(): Promise<RuleHealth[]>;
  /** Process ids of what is running now (for tests that check nothing is left behind). */
  pids(): number[];
  /** Resolves once every target has been scraped successfully (throws after `timeoutMs`). */
  waitForTargetsUp(timeoutMs?: number): Promise<void>;
  /** Stops Prometheus and removes its data; safe to call twice. */
  stop(): Promise<void>;
}

interface ApiAnswer<T> {
  status: 'success' | 'error';
  data: T;
  errorType?: string;
  error?: string;
}

async function api<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  const body = (await res.json()) as ApiAnswer<T>;
  if (body.status !== 'success') throw new Error(`Prometheus ${new URL(url).pathname}: ${body.errorType ?? res.status}: ${body.error ?? ''}`);
  return body.data;
}

export async function startPrometheus(options: PrometheusOptions): Promise<Prometheus> {
  const progress = options.progress ?? defaultProgress;
  // A test process that was SIGKILLed left its Prometheus running: stop it (see reaper.ts).
  for (const r of await reapOrphans(tmpdir(), DIR_PREFIX)) {
    progress(`reaped ${r.killed.join(', ') || 'nothing running'} and ${r.dir}, left behind by test process ${r.ownerPid} (gone)`);
  }
  const { prometheus: binary } = await prometheusBinaries(progress);
  const interval = `${options.intervalSeconds ?? 1}s`;
  const dir = mkdtempSync(join(tmpdir(), DIR_PREFIX));
  writeOwnerRecord(dir, []);
  const jobs = new Map<string, string[]>();
  for (const t of options.targets) jobs.set(t.job, [...(jobs.get(t.job) ?? []), t.address]);
  // YAML is a superset of JSON.
  const config = {
    global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
    rule_files: options.ruleFiles ?? [],
    scrape_configs: [...jobs].map(([job, addresses]) => ({ job_name: job, static_configs: [{ targets: addresses }] })),
  };
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = new ManagedProcess('prometheus', binary, [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ], join(dir, 'prometheus.log'));
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await proc.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    proc.start();
    writeOwnerRecord(dir, [{ name: proc.name, pid: proc.pid }]);
    await waitFor('prometheus', proc, () => httpOk(`${url}/-/ready`));
  } catch (err) {
    await stop();
    throw err;
  }

  const targets = async (): Promise<TargetHealth[]> => {
    const data = await api<{ activeTargets: { labels: Record<string, string>; health: TargetHealth['health']; lastError: string }[] }>(`${url}/api/v1/targets?state=active`);
    return data.activeTargets.map((t) => ({ job: t.labels['job'] ?? '', instance: t.labels['instance'] ?? '', health: t.health, lastError: t.lastError }));
  };
  return {
    url,
    query: (expr) => api<QueryResult>(`${url}/api/v1/query`, { method: 'POST', body: new URLSearchParams({ query: expr }) }),
    targets,
    pids: () => (proc.pid === undefined ? [] : [proc.pid]),
    async rules() {
      type Rule = { name: string; type: RuleHealth['type']; query: string; health: RuleHealth['health']; lastError?: string; state?: string };
      const data = await api<{ groups: { name: string; rules: Rule[] }[] }>(`${url}/api/v1/rules`);
      return data.groups.flatMap((g) =>
        g.rules.map((r) => ({
          group: g.name,
          name: r.name,
          type: r.type,
          query: r.query,
          health: r.health,
          ...(r.lastError ? { lastError: r.lastError } : {}),
          ...(r.state ? { state: r.state } : {}),
        })),
      );
    },
    async waitForTargetsUp(timeoutMs = 30_000) {
      let last: TargetHealth[] = [];
      await waitFor('every scrape target up', proc, async () => {
        last = await targets();
        return last.length === options.targets.length && last.every((t) => t.health === 'up');
      }, timeoutMs).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}\ntargets: ${JSON.stringify(last)}`, { cause: err });
      });
    },
    stop,
  };
}
