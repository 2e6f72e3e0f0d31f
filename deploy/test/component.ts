// Test-only: one of our apps as a real child process (node <app>/src/main.ts), its admin server (and the
// controller's ADS server) on ports the OS picks, read back from its log; its JSON log kept for the
// failure message.
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export type AppName = 'ca-bootstrap' | 'controller' | 'injector';

export class Component {
  readonly app: AppName;
  readonly name: string;
  readonly #child: ChildProcess;
  readonly #lines: string[] = [];
  readonly #exited: Promise<number | null>;
  readonly #port: Promise<number>;
  readonly #ads: Promise<Record<string, unknown>> | undefined;
  readonly #listeners = new Set<(line: string) => void>();

  constructor(app: AppName, args: readonly string[], env: Readonly<Record<string, string>>, name: string = app) {
    this.app = app;
    this.name = name;
    const main = fileURLToPath(new URL(`../../apps/${app}/src/main.ts`, import.meta.url));
    this.#child = spawn(process.execPath, [main, '--admin-address', '127.0.0.1', '--admin-port', '0', ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Nothing outlives a test run that ends early (a failed before hook, an uncaught error).
    const kill = (): void => void this.#child.kill('SIGKILL');
    process.once('exit', kill);
    this.#exited = new Promise((resolve) =>
      this.#child.once('exit', (code) => {
        process.off('exit', kill);
        resolve(code);
      }),
    );
    let buffered = '';
    this.#port = this.#logged('admin server listening').then((line) => line['port'] as number);
    this.#port.catch(() => undefined);
    this.#ads = app === 'controller' ? this.#logged('ADS server listening') : undefined;
    this.#ads?.catch(() => undefined);
    const take = (chunk: string): void => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        this.#lines.push(line);
        if (this.#lines.length > 200) this.#lines.shift();
        for (const listener of this.#listeners) listener(line);
      }
    };
    this.#child.stdout?.setEncoding('utf8').on('data', take);
    this.#child.stderr?.setEncoding('utf8').on('data', take);
  }

  /** The first JSON log line from now on whose `msg` is `msg` (listened for from the start); rejects if the process exits first. */
  #logged(msg: string): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const listener = (line: string): void => {
        if (!line.includes(JSON.stringify(msg))) return;
        const parsed = JSON.parse(line) as Record<string, unknown>;
        if (parsed['msg'] !== msg) return;
        this.#listeners.delete(listener);
        resolve(parsed);
      };
      this.#listeners.add(listener);
      void this.#exited.then((code) => reject(new Error(`${this.name} exited (${code}) before it logged "${msg}":\n${this.tail()}`)));
    });
  }

  /** `127.0.0.1:<ADS port>` of a controller, once its ADS server listens (after its caches synced). */
  async adsAddress(): Promise<string> {
    if (!this.#ads) throw new Error(`${this.name} is not a controller: it serves no ADS`);
    return `127.0.0.1:${String((await this.#ads)['port'])}`;
  }

  /** `127.0.0.1:<admin port>`, once the admin server listens. */
  async adminAddress(): Promise<string> {
    return `127.0.0.1:${await this.#port}`;
  }

  async get(path: string): Promise<{ status: number; body: string }> {
    const res = await fetch(`http://${await this.adminAddress()}${path}`, { signal: AbortSignal.timeout(10_000) });
    return { status: res.status, body: await res.text() };
  }

  /** Waits until /readyz answers 200; throws with the last log lines if the process exits or `timeoutMs` passes. */
  async ready(timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      if (this.#child.exitCode !== null) throw new Error(`${this.name} exited (${this.#child.exitCode}):\n${this.tail()}`);
      const { status, body } = await this.get('/readyz').catch((err: unknown) => ({ status: 0, body: String(err) }));
      if (status === 200) return;
      last = body;
      if (Date.now() > deadline) throw new Error(`${this.name} not ready after ${timeoutMs / 1000} s: ${last}\n${this.tail()}`);
      await sleep(200);
    }
  }

  tail(lines = 40): string {
    return this.#lines.slice(-lines).join('\n');
  }

  /** SIGTERM (or `signal`); resolves with the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill(signal);
    return this.#exited;
  }
}
