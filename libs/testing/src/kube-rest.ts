// Raw REST calls against a test API server (JSON in, JSON out), etcd compaction through its JSON gateway, and polling.
import { request } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export class KubeRest {
  readonly #kc: KubeConfig;
  constructor(kc: KubeConfig) {
    this.#kc = kc;
  }

  async call(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; body: unknown }> {
    const opts: { headers?: Record<string, string> } = {};
    await this.#kc.applyToHTTPSOptions(opts as never);
    const server = this.#kc.getCurrentCluster()?.server ?? '';
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(new URL(server + path), { ...opts, method, headers: { ...(opts.headers ?? {}), Accept: 'application/json', ...(payload ? { 'Content-Type': contentType } : {}) } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as unknown) : undefined }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  async ok(method: string, path: string, body?: unknown, contentType?: string): Promise<Record<string, unknown>> {
    const r = await this.call(method, path, body, contentType);
    if (r.status < 200 || r.status >= 300) throw new Error(`${method} ${path}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    return r.body as Record<string, unknown>;
  }

  create(collection: string, obj: unknown): Promise<Record<string, unknown>> {
    return this.ok('POST', collection, obj);
  }
  patch(path: string, patch: unknown): Promise<Record<string, unknown>> {
    return this.ok('PATCH', path, patch, 'application/merge-patch+json');
  }
  delete(path: string): Promise<Record<string, unknown>> {
    return this.ok('DELETE', path);
  }
}

async function etcdPost(etcdUrl: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(etcdUrl + path, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`etcd ${path}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

/** etcd's current revision. */
export async function etcdRevision(etcdUrl: string): Promise<string> {
  const r = await etcdPost(etcdUrl, '/v3/kv/range', { key: Buffer.from('/registry').toString('base64'), limit: 1 });
  return String((r['header'] as { revision?: unknown }).revision);
}

/** Compacts etcd's history up to its current revision: any watch from an older resourceVersion gets 410. */
export async function compactEtcd(etcdUrl: string): Promise<string> {
  const revision = await etcdRevision(etcdUrl);
  await etcdPost(etcdUrl, '/v3/kv/compaction', { revision, physical: true });
  return revision;
}

/** Polls until `check` is true (or throws after `timeoutMs`, naming `what`). */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
