// Test helpers: the fixture app as a real child process, and a small OTLP/HTTP (JSON) receiver.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
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

export interface ReceivedSpan {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  attributes: Record<string, unknown>;
  resource: Record<string, unknown>;
  scope: string;
  status: { code?: number; message?: string };
}

interface OtlpKeyValue {
  key: string;
  value: Record<string, unknown>;
}

function flattenAttributes(list: OtlpKeyValue[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { key, value } of list ?? []) {
    const v = value['stringValue'] ?? value['intValue'] ?? value['doubleValue'] ?? value['boolValue'];
    out[key] = value['intValue'] !== undefined ? Number(v) : v;
  }
  return out;
}

/** An OTLP/HTTP receiver on 127.0.0.1 that accepts JSON trace exports at /v1/traces. */
export async function startOtlpReceiver(): Promise<{
  endpoint: string;
  spans: ReceivedSpan[];
  paths: string[];
  waitForSpans(count: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}> {
  const spans: ReceivedSpan[] = [];
  const paths: string[] = [];
  const waiters: { count: number; resolve: (spans: ReceivedSpan[]) => void }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      paths.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        resourceSpans?: { resource?: { attributes?: OtlpKeyValue[] }; scopeSpans?: { scope?: { name?: string }; spans?: (Omit<ReceivedSpan, 'attributes' | 'resource' | 'scope' | 'status'> & { attributes?: OtlpKeyValue[]; status?: { code?: number; message?: string } })[] }[] }[];
      };
      for (const rs of body.resourceSpans ?? []) {
        const resource = flattenAttributes(rs.resource?.attributes);
        for (const ss of rs.scopeSpans ?? []) {
          for (const span of ss.spans ?? []) {
            spans.push({ name: span.name, traceId: span.traceId, spanId: span.spanId, parentSpanId: span.parentSpanId ?? '', attributes: flattenAttributes(span.attributes), resource, scope: ss.scope?.name ?? '', status: span.status ?? {} });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
      for (const waiter of [...waiters]) {
        if (spans.length >= waiter.count) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(spans);
        }
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    paths,
    waitForSpans(count) {
      if (spans.length >= count) return Promise.resolve(spans);
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
