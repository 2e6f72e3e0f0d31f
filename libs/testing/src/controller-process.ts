// Test-only: our apps as real child processes (the tests send them real signals), their JSON log
// lines kept in memory, their admin (and the controller's ADS) ports read from their own log.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export type AppName = 'ca-bootstrap' | 'controller' | 'injector';

export type LogLine = { readonly level: number | string; readonly msg: string } & Readonly<Record<string, unknown>>;

/** One of apps/<app>/src/main.ts, spawned by path: the harness runs the app as a user would, it does not import it. */
export class AppProcess {
  readonly app: AppName;
  readonly logs: LogLine[] = [];
  readonly stderr: string[] = [];
  readonly child: ChildProcess;
  /** Exit code, or the signal that ended it. */
  readonly exited: Promise<number | NodeJS.Signals | null>;
  readonly #listeners = new Set<(line: LogLine) => void>();

  /** Starts the app's `main.ts` with its admin server on loopback and a free port unless `args` says otherwise. */
  constructor(app: AppName, kubeconfigPath: string, args: readonly string[] = []) {
    this.app = app;
    const mainPath = fileURLToPath(new URL(`../../../apps/${app}/src/main.ts`, import.meta.url));
    this.child = spawn(process.execPath, [mainPath, '--admin-address', '127.0.0.1', '--admin-port', '0', ...args], {
      env: { ...process.env, KUBECONFIG: kubeconfigPath },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
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
      const timer = setTimeout(() => done(new Error(`no matching log line within ${timeoutMs} ms:\n${this.tail()}`)), timeoutMs);
      this.#listeners.add(listener);
      void this.exited.then((code) => done(new Error(`${this.app} exited (${String(code)}) before the expected log line:\n${this.tail()}`)));
    });
  }

  tail(lines = 30): string {
    return [...this.logs.slice(-lines).map((l) => JSON.stringify(l)), ...this.stderr].join('\n');
  }

  async adminUrl(): Promise<string> {
    return `http://127.0.0.1:${String((await this.waitForLog((l) => l.msg === 'admin server listening'))['port'])}`;
  }

  async get(path: string): Promise<{ status: number; body: string }> {
    const res = await fetch(`${await this.adminUrl()}${path}`);
    return { status: res.status, body: await res.text() };
  }

  async json<T>(path: string): Promise<T> {
    const { status, body } = await this.get(path);
    if (status !== 200) throw new Error(`GET ${path}: ${status} ${body}`);
    return JSON.parse(body) as T;
  }

  /** Resolves once /readyz answers 200; fails if the process exits first or after `timeoutMs`. */
  async ready(timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    await this.waitForLog((l) => l.msg === 'admin server listening', timeoutMs);
    for (;;) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`${this.app} exited before it was ready:\n${this.tail()}`);
      const { status, body } = await this.get('/readyz').catch((err: unknown) => ({ status: 0, body: String(err) }));
      if (status === 200) return;
      if (Date.now() > deadline) throw new Error(`${this.app} not ready after ${timeoutMs} ms: ${body}\n${this.tail()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Sends `signal` (SIGTERM by default); resolves with how the process ended. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | NodeJS.Signals | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

/** osm-controller, its ADS server on loopback and a free port unless `args` says otherwise. */
export class ControllerProcess extends AppProcess {
  constructor(kubeconfigPath: string, args: readonly string[] = []) {
    super('controller', kubeconfigPath, ['--ads-address', '127.0.0.1', '--ads-port', '0', ...args]);
  }

  /** `127.0.0.1:<port>` of the ADS server, once it listens (after the caches synced). */
  async adsAddress(): Promise<string> {
    return `127.0.0.1:${String((await this.waitForLog((l) => l.msg === 'ADS server listening'))['port'])}`;
  }
}
