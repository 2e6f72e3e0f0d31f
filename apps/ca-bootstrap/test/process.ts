// Test-only: ca-bootstrap as a real child process, its JSON log lines collected.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const mainPath = fileURLToPath(new URL('../src/main.ts', import.meta.url));

export interface LogLine {
  level: string;
  msg: string;
  [key: string]: unknown;
}

export class BootstrapProcess {
  readonly logs: LogLine[] = [];
  readonly stderr: string[] = [];
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  #waiters: { predicate: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];

  constructor(kubeconfigPath: string, args: readonly string[]) {
    this.child = spawn(process.execPath, [mainPath, '--admin-address', '127.0.0.1', '--admin-port', '0', ...args], {
      env: { ...process.env, KUBECONFIG: kubeconfigPath },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buffered = '';
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const text of lines) {
        if (!text.trim()) continue;
        let line: LogLine;
        try {
          line = JSON.parse(text) as LogLine;
        } catch {
          line = { level: 'raw', msg: text };
        }
        this.logs.push(line);
        this.#waiters = this.#waiters.filter((w) => (w.predicate(line) ? (w.resolve(line), false) : true));
      }
    });
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => this.stderr.push(chunk));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  /** The first log line (past or future) matching `predicate`; rejects after `timeoutMs` or if the process exits. */
  waitForLog(predicate: (l: LogLine) => boolean, timeoutMs = 60_000): Promise<LogLine> {
    const seen = this.logs.find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise<LogLine>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching log line after ${timeoutMs} ms; logs:\n${this.logs.map((l) => JSON.stringify(l)).join('\n')}\n${this.stderr.join('')}`)), timeoutMs);
      const done = (l: LogLine): void => {
        clearTimeout(timer);
        resolve(l);
      };
      this.#waiters.push({ predicate, resolve: done });
      void this.exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`ca-bootstrap exited (${code}) before the expected log line; stderr: ${this.stderr.join('')}`));
      });
    });
  }

  /** Ready (root CA loaded) or failed: whichever comes first. */
  settled(timeoutMs?: number): Promise<LogLine> {
    return this.waitForLog((l) => l.msg === 'root CA ready' || l.msg.startsWith('root CA not loaded'), timeoutMs);
  }

  async adminPort(): Promise<number> {
    return (await this.waitForLog((l) => l.msg === 'admin server listening'))['port'] as number;
  }

  async get(path: string): Promise<{ status: number; body: string }> {
    const res = await fetch(`http://127.0.0.1:${await this.adminPort()}${path}`);
    return { status: res.status, body: await res.text() };
  }

  /** SIGTERM; resolves with the exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }
}
