// ListWatchClient over a @kubernetes/client-node KubeConfig: raw list and watch requests (JSON kept
// as the server sent it, no model-class conversion), authenticated the way the KubeConfig says.
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { errorFromStatus, KubeApiError } from './errors.ts';
import type { ListPage, ListRequest, ListWatchClient, WatchCallbacks, WatchEventType, WatchHandle, WatchRequest } from './types.ts';

export interface KubeListWatchClientOptions {
  /** A list page or the start of a watch that takes longer than this fails (default 60 s). */
  readonly requestTimeoutMs?: number;
}

const eventTypes = new Set<string>(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR']);

function query(params: Record<string, string | number | boolean | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

async function readBody(res: IncomingMessage): Promise<string> {
  res.setEncoding('utf8');
  let body = '';
  for await (const chunk of res) body += chunk as string;
  return body;
}

async function failure(res: IncomingMessage): Promise<KubeApiError> {
  const status = res.statusCode ?? 0;
  let body: unknown;
  try {
    body = JSON.parse(await readBody(res));
  } catch {
    body = undefined;
  }
  return errorFromStatus(body, status);
}

export function kubeListWatchClient(kubeConfig: KubeConfig, options: KubeListWatchClientOptions = {}): ListWatchClient {
  const timeoutMs = options.requestTimeoutMs ?? 60_000;
  // The KubeConfig's agent opens a connection (a TLS handshake) per request. Lists reuse theirs
  // instead: a burst of namespaces joining is hundreds of small lists. Not through a proxy, which
  // only the KubeConfig's agent speaks to. Watches keep a connection each, as before.
  const reused = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };

  async function open(path: string, signal: AbortSignal | undefined, reuse: boolean): Promise<{ req: ClientRequest; res: Promise<IncomingMessage> }> {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new KubeApiError('Network', 'the KubeConfig has no current cluster');
    const opts: RequestOptions & { headers?: Record<string, string> } = {};
    await kubeConfig.applyToHTTPSOptions(opts as never);
    const url = new URL(cluster.server.replace(/\/$/, '') + path);
    const request = url.protocol === 'http:' ? httpRequest : httpsRequest;
    const agent = reuse && !cluster.proxyUrl ? (url.protocol === 'http:' ? reused.http : reused.https) : opts.agent;
    const req = request(url, { ...opts, agent, method: 'GET', headers: { ...(opts.headers ?? {}), Accept: 'application/json' }, ...(signal ? { signal } : {}) });
    req.on('socket', (socket) => socket.setKeepAlive(true, 15_000));
    const res = new Promise<IncomingMessage>((resolve, reject) => {
      const timer = setTimeout(() => req.destroy(new KubeApiError('Network', `no response to GET ${path} within ${timeoutMs} ms`)), timeoutMs);
      timer.unref();
      req.on('response', (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err instanceof KubeApiError ? err : new KubeApiError('Network', `GET ${path}: ${err.message}`, { cause: err }));
      });
    });
    req.end();
    return { req, res };
  }

  return {
    async list(path: string, r: ListRequest, signal: AbortSignal): Promise<ListPage> {
      const { req, res: pending } = await open(
        path +
          query({
            labelSelector: r.labelSelector,
            fieldSelector: r.fieldSelector,
            limit: r.limit,
            continue: r.continueToken,
            resourceVersion: r.resourceVersion,
            resourceVersionMatch: r.resourceVersionMatch,
          }),
        signal,
        true,
      );
      // A list page that stops arriving mid-body fails instead of hanging the informer.
      req.setTimeout(timeoutMs, () => req.destroy(new KubeApiError('Network', `list ${path}: no data for ${timeoutMs} ms`)));
      const res = await pending;
      if (res.statusCode !== 200) throw await failure(res);
      let text: string;
      try {
        text = await readBody(res);
      } catch (err) {
        throw err instanceof KubeApiError ? err : new KubeApiError('Network', `list ${path}: ${(err as Error).message}`, { cause: err });
      }
      let body: { items?: unknown; metadata?: { resourceVersion?: unknown; continue?: unknown } };
      try {
        body = JSON.parse(text) as typeof body;
      } catch (err) {
        throw new KubeApiError('Decode', `list ${path}: response is not JSON`, { cause: err });
      }
      if (!Array.isArray(body.items)) throw new KubeApiError('Decode', `list ${path}: response has no items array`);
      const rv = body.metadata?.resourceVersion;
      const cont = body.metadata?.continue;
      return {
        items: body.items as unknown[],
        resourceVersion: typeof rv === 'string' ? rv : '',
        ...(typeof cont === 'string' && cont ? { continueToken: cont } : {}),
      };
    },

    async watch(path: string, r: WatchRequest, callbacks: WatchCallbacks): Promise<WatchHandle> {
      const { req, res: pending } = await open(
        path +
          query({
            watch: true,
            resourceVersion: r.resourceVersion,
            allowWatchBookmarks: r.allowWatchBookmarks,
            timeoutSeconds: r.timeoutSeconds,
            labelSelector: r.labelSelector,
            fieldSelector: r.fieldSelector,
          }),
        undefined,
        false,
      );
      const res = await pending;
      if (res.statusCode !== 200) throw await failure(res);
      let finished = false;
      const finish = (err: Error | undefined): void => {
        if (finished) return;
        finished = true;
        req.destroy();
        callbacks.onDone(err);
      };
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let nl: number;
        while (!finished && (nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          if (!line) continue;
          let event: { type?: unknown; object?: unknown };
          try {
            event = JSON.parse(line) as typeof event;
          } catch (err) {
            return finish(new KubeApiError('Decode', `watch ${path}: a line is not JSON`, { cause: err }));
          }
          if (typeof event.type !== 'string' || !eventTypes.has(event.type)) {
            return finish(new KubeApiError('Decode', `watch ${path}: unknown event type ${String(event.type)}`));
          }
          callbacks.onEvent({ type: event.type as WatchEventType, object: event.object });
        }
      });
      res.on('end', () => finish(undefined));
      res.on('error', (err) => finish(new KubeApiError('Network', `watch ${path}: ${err.message}`, { cause: err })));
      res.on('close', () => finish(res.complete ? undefined : new KubeApiError('Network', `watch ${path}: connection closed`)));
      return {
        abort(): void {
          finished = true;
          req.destroy();
        },
      };
    },
  };
}
