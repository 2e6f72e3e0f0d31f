// The KubeConfig-based client against a small local HTTP server that misbehaves on purpose.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeApiError } from '../src/errors.ts';
import { kubeListWatchClient } from '../src/kube-client.ts';
import type { ListWatchClient, WatchEvent } from '../src/types.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

describe('kubeListWatchClient', () => {
  let server: Server;
  let handler: Handler = (_req, res) => res.end();
  let client: ListWatchClient;
  const requests: string[] = [];

  before(async () => {
    server = createServer((req, res) => {
      requests.push(req.url ?? '');
      handler(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    assert.ok(address && typeof address === 'object');
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${address.port}`, skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
      currentContext: 'ctx',
    });
    client = kubeListWatchClient(kc, { requestTimeoutMs: 2000 });
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const json = (status: number, body: unknown): Handler => (_req, res) => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  function watchUntilDone(): Promise<{ events: WatchEvent[]; error: Error | undefined }> {
    const events: WatchEvent[] = [];
    return new Promise((resolve, reject) => {
      client
        .watch('/api/v1/pods', { resourceVersion: '5', allowWatchBookmarks: true, timeoutSeconds: 60 }, { onEvent: (e) => events.push(e), onDone: (error) => resolve({ events, error }) })
        .catch(reject);
    });
  }

  it('lists a page with its resourceVersion and continue token, passing the query', async () => {
    handler = json(200, { items: [{ metadata: { name: 'a' } }], metadata: { resourceVersion: '42', continue: 'next' } });
    const page = await client.list('/api/v1/pods', { limit: 10, continueToken: 'tok', labelSelector: 'a=b' }, new AbortController().signal);
    assert.deepEqual(page, { items: [{ metadata: { name: 'a' } }], resourceVersion: '42', continueToken: 'next' });
    const q = new URL(`http://x${requests.at(-1)}`).searchParams;
    assert.equal(q.get('limit'), '10');
    assert.equal(q.get('continue'), 'tok');
    assert.equal(q.get('labelSelector'), 'a=b');
    assert.equal(q.get('resourceVersion'), null, 'no resourceVersion unless asked for');
    await client.list('/api/v1/namespaces/ns/pods', { limit: 10, resourceVersion: '41', resourceVersionMatch: 'NotOlderThan' }, new AbortController().signal);
    const scoped = new URL(`http://x${requests.at(-1)}`);
    assert.equal(scoped.pathname, '/api/v1/namespaces/ns/pods');
    assert.equal(scoped.searchParams.get('resourceVersion'), '41');
    assert.equal(scoped.searchParams.get('resourceVersionMatch'), 'NotOlderThan');
  });

  it('turns error responses into KubeApiError: 410 is Gone', async () => {
    handler = json(410, { kind: 'Status', code: 410, reason: 'Expired', message: 'continue token expired' });
    await assert.rejects(client.list('/api/v1/pods', {}, new AbortController().signal), (e: unknown) => e instanceof KubeApiError && e.code === 'Gone');
    handler = json(500, { kind: 'Status', code: 500, message: 'etcd is sad' });
    await assert.rejects(client.list('/api/v1/pods', {}, new AbortController().signal), (e: unknown) => e instanceof KubeApiError && e.code === 'Status' && e.statusCode === 500 && /etcd is sad/.test(e.message));
    handler = (_req, res) => res.end('not json');
    await assert.rejects(client.list('/api/v1/pods', {}, new AbortController().signal), (e: unknown) => e instanceof KubeApiError && e.code === 'Decode');
  });

  it('streams watch events (split across chunks) and reports a clean close', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const lines = `${JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a', resourceVersion: '6' } } })}\n${JSON.stringify({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '9' } } })}\n`;
      res.write(lines.slice(0, 17));
      setTimeout(() => res.end(lines.slice(17)), 20);
    };
    const { events, error } = await watchUntilDone();
    assert.equal(error, undefined);
    assert.deepEqual(
      events.map((e) => e.type),
      ['ADDED', 'BOOKMARK'],
    );
    const q = new URL(`http://x${requests.at(-1)}`).searchParams;
    assert.equal(q.get('watch'), 'true');
    assert.equal(q.get('resourceVersion'), '5');
    assert.equal(q.get('allowWatchBookmarks'), 'true');
  });

  it('reports a broken connection and a garbled line as errors', async () => {
    handler = (req, res) => {
      res.writeHead(200);
      res.write(`${JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a' } } })}\n`);
      setTimeout(() => req.socket.destroy(), 20);
    };
    const broken = await watchUntilDone();
    assert.equal(broken.events.length, 1);
    assert.ok(broken.error instanceof KubeApiError && broken.error.code === 'Network');
    handler = (_req, res) => {
      res.writeHead(200);
      res.write('{"type": "ADDED", "object": {\n');
    };
    const garbled = await watchUntilDone();
    assert.ok(garbled.error instanceof KubeApiError && garbled.error.code === 'Decode');
  });

  it('rejects a watch the server refuses (410 is Gone)', async () => {
    handler = json(410, { kind: 'Status', code: 410, message: 'too old resource version' });
    await assert.rejects(watchUntilDone(), (e: unknown) => e instanceof KubeApiError && e.code === 'Gone');
  });

  it('says nothing more after abort', async () => {
    let respond: () => void = () => undefined;
    handler = (_req, res) => {
      res.writeHead(200);
      res.write('\n');
      respond = () => res.end(`${JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'late' } } })}\n`);
    };
    const calls: string[] = [];
    const handle = await client.watch('/api/v1/pods', { resourceVersion: '1', allowWatchBookmarks: true }, { onEvent: () => calls.push('event'), onDone: () => calls.push('done') });
    handle.abort();
    respond();
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(calls, []);
  });
});
