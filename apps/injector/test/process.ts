// Test-only: the injector as a real child process (real signals, real TLS), its JSON log lines collected.
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const mainPath = fileURLToPath(new URL('../src/main.ts', import.meta.url));

export interface LogLine {
  readonly level: number | string;
  readonly msg: string;
  readonly [key: string]: unknown;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export class InjectorProcess {
  readonly logs: LogLine[] = [];
  readonly stderr: string[] = [];
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  readonly webhookPort: number;

  /** Starts with --webhook-port `webhookPort`, the admin server on a free port, and `args`. */
  constructor(kubeconfigPath: string, webhookPort: number, args: readonly string[]) {
    this.webhookPort = webhookPort;
    this.child = spawn(process.execPath, [mainPath, '--webhook-address', '127.0.0.1', '--webhook-port', String(webhookPort), '--admin-address', '127.0.0.1', '--admin-port', '0', '--drain-delay', '0s', ...args], {
      env: { ...process.env, KUBECONFIG: kubeconfigPath },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buffered = '';
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const text of lines.filter((l) => l.trim())) {
        try {
          this.logs.push(JSON.parse(text) as LogLine);
        } catch {
          this.logs.push({ level: 'raw', msg: text });
        }
      }
    });
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => this.stderr.push(chunk));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  /** The first log line matching `predicate`, waiting for it (fails when the process exits first). */
  async waitForLog(predicate: (l: LogLine) => boolean, timeoutMs = 60_000): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.logs.find(predicate);
      if (line) return line;
      if (this.child.exitCode !== null) throw new Error(`injector exited (${this.child.exitCode}); stderr: ${this.stderr.join('')}\nlogs: ${this.logs.map((l) => l.msg).join('\n')}`);
      if (Date.now() > deadline) throw new Error(`no matching log line after ${timeoutMs} ms; logs:\n${this.logs.map((l) => JSON.stringify(l)).join('\n')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async adminPort(): Promise<number> {
    return (await this.waitForLog((l) => l.msg === 'admin server listening'))['port'] as number;
  }

  async admin(path: string): Promise<{ status: number; body: string }> {
    const res = await fetch(`http://127.0.0.1:${await this.adminPort()}${path}`);
    return { status: res.status, body: await res.text() };
  }

  /** Resolves once /readyz answers 200. */
  async ready(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await this.admin('/readyz').catch(() => ({ status: 0 }))).status !== 200) {
      if (this.child.exitCode !== null || Date.now() > deadline) throw new Error(`injector not ready; stderr: ${this.stderr.join('')}\nlogs:\n${this.logs.map((l) => JSON.stringify(l)).join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The value of one series of /metrics (0 when absent). */
  async metric(series: string): Promise<number> {
    const text = (await this.admin('/metrics')).body;
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line ? Number(line.slice(series.length + 1)) : 0;
  }

  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }
}

/** POSTs `body` to the webhook over TLS (trusting `caPem`); the status and the parsed (or raw) answer. */
export function postWebhook(port: number, caPem: string, body: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }, method = 'POST', path = '/mutate-pod-creation'): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, ca: caPem, servername: 'localhost', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // kept as text
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}
