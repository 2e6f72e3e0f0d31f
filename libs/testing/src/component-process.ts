// Test-only: one of our apps (`apps/<app>/src/main.ts`) as a real child process, so that tests send it
// real signals and see its real exit code. Its servers listen on loopback with ports the OS picks,
// read back from its own JSON log; the log lines are kept in memory for assertions and failure
// messages; and it is SIGKILLed if the test process exits first, however it exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { killOnExit } from './process.ts';

export type AppName = 'ca-bootstrap' | 'controller' | 'injector';

export type LogLine = { readonly level: number | string; readonly msg: string } & Readonly<Record<string, unknown>>;

export interface ComponentProcessOptions {
  /** Flags after the loopback defaults (a later flag wins, so these can override them). */
  readonly args?: readonly string[];
  /** Sets KUBECONFIG for the child. */
  readonly kubeconfigPath?: string;
  /** Added to this process's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** In failure messages; the app's name unless given (several replicas of one app). */
  readonly name?: string;
}

/** Each app's servers on 127.0.0.1 with a port the OS picks (each logs the port it got). */
const LOOPBACK_ARGS: Readonly<Record<AppName, readonly string[]>> = {
  'ca-bootstrap': ['--admin-address', '127.0.0.1', '--admin-port', '0'],
  controller: ['--admin-address', '127.0.0.1', '--admin-port', '0', '--ads-address', '127.0.0.1', '--ads-port', '0'],
  injector: ['--admin-address', '127.0.0.1', '--admin-port', '0', '--webhook-address', '127.0.0.1', '--webhook-port', '0'],
};

export class ComponentProcess {
  readonly app: AppName;
  readonly name: string;
  readonly logs: LogLine[] = [];
  readonly stderr: string[] = [];
  readonly child: ChildProcess;
  /** Exit code, or the signal that ended it. */
  readonly exited: Promise<number | NodeJS.Signals | null>;
  readonly #listeners = new Set<(line: LogLine) => void>();

  constructor(app: AppName, options: ComponentProcessOptions = {}) {
    this.app = app;
    this.name = options.name ?? app;
    // Spawned by path: the harness runs the app as a user would, it does not import it.
    const main = fileURLToPath(new URL(`../../../apps/${app}/src/main.ts`, import.meta.url));
    this.child = spawn(process.execPath, [main, ...LOOPBACK_ARGS[app], ...(options.args ?? [])], {
      env: { ...process.env, ...(options.kubeconfigPath === undefined ? {} : { KUBECONFIG: options.kubeconfigPath }), ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    killOnExit(this.child);
    let partial = '';
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const text of lines.filter((t) => t.trim() !== '')) {
        let line: LogLine;
        try {
          line = JSON.parse(text) as LogLine;
        } catch {
          line = { level: 'raw', msg: text };
        }
        this.logs.push(line);
        for (const listener of this.#listeners) listener(line);
      }
    });
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => this.stderr.push(chunk));
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve(code ?? signal)));
  }

  /** The first log line, past or future, that matches; fails if the process exits first or after `timeoutMs`. */
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs = 90_000): Promise<LogLine> {
    const seen = this.logs.find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const done = (error: Error | undefined, line?: LogLine): void => {
        clearTimeout(timer);
        this.#listeners.delete(listener);
        if (error) reject(error);
        else resolve(line as LogLine);
      };
      const listener = (line: LogLine): void => {
        if (predicate(line)) done(undefined, line);
      };
      const timer = setTimeout(() => done(new Error(`${this.name}: no matching log line within ${timeoutMs} ms:\n${this.tail()}`)), timeoutMs);
      this.#listeners.add(listener);
      void this.exited.then((code) => done(new Error(`${this.name} exited (${String(code)}) before the expected log line:\n${this.tail()}`)));
    });
  }

  /** The last log lines and everything written to stderr, for failure messages. */
  tail(lines = 30): string {
    return [...this.logs.slice(-lines).map((l) => JSON.stringify(l)), ...this.stderr].join('\n');
  }

  /** The admin server's port, once it listens. */
  async adminPort(): Promise<number> {
    return (await this.waitForLog((l) => l.msg === 'admin server listening'))['port'] as number;
  }

  /** `127.0.0.1:<admin port>`, once the admin server listens. */
  async adminAddress(): Promise<string> {
    return `127.0.0.1:${await this.adminPort()}`;
  }

  /** `127.0.0.1:<ADS port>` of a controller, once its ADS server listens (after its caches synced). */
  async adsAddress(): Promise<string> {
    if (this.app !== 'controller') throw new Error(`${this.name} is not a controller: it serves no ADS`);
    return `127.0.0.1:${String((await this.waitForLog((l) => l.msg === 'ADS server listening'))['port'])}`;
  }

  async adminUrl(): Promise<string> {
    return `http://${await this.adminAddress()}`;
  }

  /** GET on the admin server. */
  async get(path: string): Promise<{ status: number; body: string }> {
    const res = await fetch(`${await this.adminUrl()}${path}`, { signal: AbortSignal.timeout(10_000) });
    return { status: res.status, body: await res.text() };
  }

  async json<T>(path: string): Promise<T> {
    const { status, body } = await this.get(path);
    if (status !== 200) throw new Error(`${this.name}: GET ${path}: ${status} ${body}`);
    return JSON.parse(body) as T;
  }

  /** The value of one series of /metrics, e.g. `name{label="v"}` (0 when absent). */
  async metric(series: string): Promise<number> {
    const line = (await this.get('/metrics')).body.split('\n').find((l) => l.startsWith(`${series} `));
    return line ? Number(line.slice(series.length + 1)) : 0;
  }

  /** Waits until /readyz answers 200; throws with the last log lines if the process exits or `timeoutMs` passes. */
  async ready(timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`${this.name} exited (${String(this.child.exitCode ?? this.child.signalCode)}):\n${this.tail()}`);
      const { status, body } = await this.get('/readyz').catch((err: unknown) => ({ status: 0, body: String(err) }));
      if (status === 200) return;
      if (Date.now() > deadline) throw new Error(`${this.name} not ready after ${timeoutMs / 1000} s: ${body}\n${this.tail()}`);
      await sleep(100);
    }
  }

  /** Sends `signal` (SIGTERM by default); resolves with how the process ended. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | NodeJS.Signals | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}
