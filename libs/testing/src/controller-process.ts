// Test-only: osm-controller as a real child process (the tests send it real signals), its JSON log
// lines kept in memory, its admin and ADS ports read from its own log.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// Spawned by path: the harness runs the app as a user would, it does not import it.
const mainPath = fileURLToPath(new URL('../../../apps/controller/src/main.ts', import.meta.url));

export type LogLine = { readonly level: number | string; readonly msg: string } & Readonly<Record<string, unknown>>;

export class ControllerProcess {
  readonly logs: LogLine[] = [];
  readonly stderr: string[] = [];
  readonly child: ChildProcess;
  /** Exit code, or the signal that ended it. */
  readonly exited: Promise<number | NodeJS.Signals | null>;
  readonly #listeners = new Set<(line: LogLine) => void>();

  /** Starts `main.ts` with loopback addresses and free ports unless `args` says otherwise. */
  constructor(kubeconfigPath: string, args: readonly string[] = []) {
    this.child = spawn(process.execPath, [mainPath, '--admin-address', '127.0.0.1', '--admin-port', '0', '--ads-address', '127.0.0.1', '--ads-port', '0', ...args], {
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
      void this.exited.then((code) => done(new Error(`osm-controller exited (${String(code)}) before the expected log line:\n${this.tail()}`)));
    });
  }

  tail(lines = 30): string {
    return [...this.logs.slice(-lines).map((l) => JSON.stringify(l)), ...this.stderr].join('\n');
  }

  async adminUrl(): Promise<string> {
    return `http://127.0.0.1:${String((await this.waitForLog((l) => l.msg === 'admin server listening'))['port'])}`;
  }

  /** `127.0.0.1:<port>` of the ADS server, once it listens (after the caches synced). */
  async adsAddress(): Promise<string> {
    return `127.0.0.1:${String((await this.waitForLog((l) => l.msg === 'ADS server listening'))['port'])}`;
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

  /** Sends `signal` (SIGTERM by default); resolves with how the process ended. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | NodeJS.Signals | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}
