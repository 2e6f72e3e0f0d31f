// Test helpers: the fixture app as a real child process (the OTLP receiver is @osm/testing's).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import type { PromFamily } from 'parse-prometheus-text-format';
import type { FixtureCommand, FixtureReply } from './fixture-app.ts';

export type LogLine = Record<string, unknown> & { msg?: string; level?: string };

export interface Fixture {
  readonly url: string;
  readonly child: ChildProcess;
  /** Every JSON line the app printed on stdout, in order. */
  readonly logs: LogLine[];
  readonly stderr: string[];
  /** Sends a command and waits for the app to report it done. */
  command(command: Exclude<FixtureCommand, { op: 'continue' }>): Promise<void>;
  /** Sends a command without waiting for an answer. */
  post(command: FixtureCommand): void;
  waitForLog(predicate: (line: LogLine) => boolean): Promise<LogLine>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const fixturePath = new URL('./fixture-app.ts', import.meta.url).pathname;
const running = new Set<ChildProcess>();

/** Starts test/fixture-app.ts with this Node binary; resolves once its admin server listens. */
export async function startFixture(env: Record<string, string> = {}): Promise<Fixture> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete childEnv['NODE_TEST_CONTEXT'];
  const child = spawn(process.execPath, [fixturePath], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env: childEnv });
  const { stdout, stderr: stderrStream } = child;
  if (stdout === null || stderrStream === null) throw new Error('fixture spawned without pipes');
  running.add(child);
  const exited = once(child, 'exit').then(([code, signal]) => {
    running.delete(child);
    return { code: code as number | null, signal: signal as NodeJS.Signals | null };
  });
  const logs: LogLine[] = [];
  const stderr: string[] = [];
  const waiters: { predicate: (line: LogLine) => boolean; resolve: (line: LogLine) => void }[] = [];
  createInterface({ input: stdout }).on('line', (text) => {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      line = { msg: text, notJson: true };
    }
    logs.push(line);
    for (const waiter of [...waiters]) {
      if (waiter.predicate(line)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  createInterface({ input: stderrStream }).on('line', (text) => stderr.push(text));

  const replies: FixtureReply[] = [];
  const replyWaiters: { op: string; resolve: () => void }[] = [];
  child.on('message', (message: FixtureReply) => {
    replies.push(message);
    if (message.op === 'done') {
      const index = replyWaiters.findIndex((w) => w.op === message.command);
      if (index >= 0) replyWaiters.splice(index, 1)[0]?.resolve();
    }
  });
  const listening = await Promise.race([
    once(child, 'message').then(([message]) => message as FixtureReply),
    exited.then((e) => {
      throw new Error(`fixture exited before listening: ${JSON.stringify(e)}\n${stderr.join('\n')}`);
    }),
  ]);
  if (listening.op !== 'listening') throw new Error(`unexpected first message ${JSON.stringify(listening)}`);

  return {
    url: listening.url,
    child,
    logs,
    stderr,
    command(command) {
      const done = new Promise<void>((resolve) => replyWaiters.push({ op: command.op, resolve }));
      child.send(command);
      return done;
    },
    post(command) {
      child.send(command);
    },
    waitForLog(predicate) {
      const found = logs.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve) => waiters.push({ predicate, resolve }));
    },
    exited,
  };
}

/** Kills fixtures a failed test left behind. */
export function killFixtures(): void {
  for (const child of running) child.kill('SIGKILL');
}

export async function get(url: string): Promise<{ status: number; contentType: string; body: string }> {
  const res = await fetch(url);
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', body: await res.text() };
}

/** Polls `url` until `accept` holds (the caller's test timeout bounds it). */
export async function pollUntil(url: string, accept: (res: { status: number; body: string }) => boolean): Promise<{ status: number; body: string }> {
  for (;;) {
    const res = await get(url);
    if (accept(res)) return res;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function scrape(baseUrl: string): Promise<PromFamily[]> {
  const res = await get(`${baseUrl}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return parsePrometheusTextFormat(res.body);
}
