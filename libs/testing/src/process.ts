// A child process of the local control plane: started with its log in a file, stopped with
// SIGTERM then SIGKILL, and killed when the test process exits however it exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** SIGKILLs `child` when this process exits, however it exits (unless the child has ended first). */
export function killOnExit(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // 'exit' handlers run synchronously, so nothing started here outlives a failing test run.
    process.on('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
  live.add(child);
  const forget = (): void => void live.delete(child);
  child.once('exit', forget);
  child.once('error', forget);
}

export class ManagedProcess {
  readonly name: string;
  readonly logFile: string;
  readonly #command: string;
  readonly #args: readonly string[];
  readonly #env: NodeJS.ProcessEnv | undefined;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #lastExit: string | undefined;
  readonly #exitListeners = new Set<(how: string) => void>();

  /** `env`: the child's environment; default this process's. */
  constructor(name: string, command: string, args: readonly string[], logFile: string, env?: NodeJS.ProcessEnv) {
    this.name = name;
    this.#command = command;
    this.#args = args;
    this.logFile = logFile;
    this.#env = env;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  /** How the last run ended (`exit 1`, `SIGKILL`), undefined while running or never started. */
  get lastExit(): string | undefined {
    return this.#lastExit;
  }

  /** Calls `listener` each time the process ends, with how it ended (as `lastExit`). */
  onExit(listener: (how: string) => void): void {
    this.#exitListeners.add(listener);
  }

  start(): void {
    if (this.#child) throw new Error(`${this.name} is already running`);
    const log = openSync(this.logFile, 'a');
    const child = spawn(this.#command, this.#args, { stdio: ['ignore', log, log], ...(this.#env ? { env: this.#env } : {}) });
    closeSync(log);
    this.#child = child;
    this.#lastExit = undefined;
    killOnExit(child);
    this.#exited = new Promise((resolve) => {
      const ended = (): void => {
        if (this.#child === child) this.#child = undefined;
        this.#lastExit = child.signalCode ?? `exit ${child.exitCode ?? '?'}`;
        for (const listener of this.#exitListeners) listener(this.#lastExit);
        resolve();
      };
      child.once('exit', ended);
      child.once('error', ended);
    });
  }

  /** The process ended on its own (a crash, a bad flag): throw with the end of its log. */
  assertRunning(): void {
    if (!this.#child) throw new Error(`${this.name} exited; last log lines:\n${this.tail()}`);
  }

  tail(lines = 25): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
    const child = this.#child;
    if (!child) return;
    child.kill(signal);
    const ended = await Promise.race([this.#exited.then(() => true), sleep(graceMs, false, { ref: false })]);
    if (!ended) {
      child.kill('SIGKILL');
      await this.#exited;
    }
  }
}

/** Whether `url` answers 2xx within 2 s. */
export async function httpOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return res.ok;
  } catch {
    return false;
  }
}

/** Polls `check` until it passes; throws with the end of the process's log if it exits or `timeoutMs` passes. */
export async function waitFor(what: string, proc: ManagedProcess, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    proc.assertRunning();
    if (Date.now() > deadline) throw new Error(`${what} not ready after ${timeoutMs / 1000} s; last log lines:\n${proc.tail()}`);
    await sleep(100);
  }
}
