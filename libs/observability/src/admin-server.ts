// The admin HTTP server every component runs (default port 9091): liveness, named readiness checks,
// Prometheus metrics and version, with OSM's /health/* paths as aliases.
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ObservabilityError } from './errors.ts';
import type { Logger } from './logger.ts';

/** `true`/`false`, or a state with a message shown in /readyz (say why it is not ready). */
export type ReadinessResult = boolean | { ok: boolean; message?: string };
/** Called on every /readyz request; should be cheap (it is given `checkTimeoutMs` at most). */
export type ReadinessCheck = () => ReadinessResult | Promise<ReadinessResult>;

export interface CheckState {
  name: string;
  ok: boolean;
  message?: string;
}

export interface ReadinessReport {
  ready: boolean;
  checks: CheckState[];
}

export interface VersionDocument {
  component: string;
  version: string;
  gitCommit: string;
  buildDate: string;
}

export interface AdminServerOptions {
  /** Interface to listen on. Default `0.0.0.0` (the kubelet and Prometheus reach the pod IP). */
  host?: string;
  /** Default 9091; 0 picks a free port (see `port` on the result). */
  port?: number;
  /** A readiness check that takes longer counts as failing. Default 2000 ms. */
  checkTimeoutMs?: number;
  version: VersionDocument;
  /** Produces the Prometheus text exposition. */
  metrics: () => Promise<string>;
  logger: Logger;
}

/** An app's own JSON endpoint on the admin port (e.g. a debug endpoint): the query in, a status and a JSON body out. */
export type JsonRoute = (query: URLSearchParams) => { status: number; body: unknown } | Promise<{ status: number; body: unknown }>;

export interface AdminServer {
  /** The port actually bound. */
  readonly port: number;
  /** `http://host:port`. */
  readonly url: string;
  /**
   * Registers a named readiness check; returns a function that removes it. /readyz is ready when
   * every check passes and at least one is registered.
   */
  addReadinessCheck(name: string, check: ReadinessCheck): () => void;
  /** Serves GET `path` (e.g. `/debug/proxies`) with `route`; a path that is taken is an error. */
  addJsonRoute(path: string, route: JsonRoute): void;
  /** From now on /readyz fails with the check `shutdown` (liveness is unaffected). */
  setShuttingDown(): void;
  /** Runs every check, as /readyz does. */
  readiness(): Promise<ReadinessReport>;
  close(): Promise<void>;
}

const CHECK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$/;
const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

async function runCheck(name: string, check: ReadinessCheck, timeoutMs: number): Promise<CheckState> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckState>((resolve) => {
    timer = setTimeout(() => resolve({ name, ok: false, message: `timed out after ${timeoutMs} ms` }), timeoutMs);
  });
  const run = (async (): Promise<CheckState> => {
    const result = await check();
    if (typeof result === 'boolean') return { name, ok: result };
    return result.message === undefined ? { name, ok: result.ok } : { name, ok: result.ok, message: result.message };
  })().catch((error: unknown) => ({ name, ok: false, message: error instanceof Error ? error.message : String(error) }));
  try {
    return await Promise.race([run, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const sendJson = (res: ServerResponse, status: number, body: unknown): void =>
  send(res, status, 'application/json; charset=utf-8', `${JSON.stringify(body)}\n`);

export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const host = options.host ?? '0.0.0.0';
  const requestedPort = options.port ?? 9091;
  if (!Number.isInteger(requestedPort) || requestedPort < 0 || requestedPort > 65535) {
    throw new ObservabilityError('invalid-argument', `admin.port: ${requestedPort} is not a port; allowed: 0 to 65535`);
  }
  const timeoutMs = options.checkTimeoutMs ?? 2000;
  const log = options.logger.child({ subsystem: 'admin' });
  const checks = new Map<string, ReadinessCheck>();
  let shuttingDown = false;

  const readiness = async (): Promise<ReadinessReport> => {
    const states = await Promise.all([...checks].map(([name, check]) => runCheck(name, check, timeoutMs)));
    // Ready is explicit: before the app registers its first check, it is still starting.
    if (checks.size === 0) states.push({ name: 'startup', ok: false, message: 'no readiness check registered yet' });
    if (shuttingDown) states.unshift({ name: 'shutdown', ok: false, message: 'shutting down' });
    return { ready: states.every((s) => s.ok), checks: states };
  };

  type Route = (res: ServerResponse) => Promise<void> | void;
  const live: Route = (res) => send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
  const ready: Route = async (res) => {
    const report = await readiness();
    const failing = report.checks.filter((c) => !c.ok).map((c) => c.name);
    sendJson(res, report.ready ? 200 : 503, { status: report.ready ? 'ready' : 'not ready', ...(failing.length > 0 ? { failing } : {}), checks: report.checks });
  };
  const appRoutes = new Map<string, JsonRoute>();
  const served =
    (route: JsonRoute, query: URLSearchParams): Route =>
    async (res) => {
      const { status, body } = await route(query);
      sendJson(res, status, body);
    };
  const routes: Record<string, Route> = {
    '/livez': live,
    '/readyz': ready,
    '/health/alive': live,
    '/health/ready': ready,
    '/metrics': async (res) => send(res, 200, PROMETHEUS_CONTENT_TYPE, await options.metrics()),
    '/version': (res) => sendJson(res, 200, options.version),
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    const appRoute = appRoutes.get(path);
    const route = routes[path] ?? (appRoute ? served(appRoute, new URL(req.url ?? '/', 'http://admin').searchParams) : undefined);
    if (route === undefined) return sendJson(res, 404, { error: `no such path: ${path}`, paths: [...Object.keys(routes), ...appRoutes.keys()] });
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return sendJson(res, 405, { error: `method ${req.method ?? ''} not allowed; allowed: GET, HEAD` });
    }
    await route(res);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log.error({ err: error, path: req.url }, 'admin request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
  server.requestTimeout = 30_000;

  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void =>
      reject(new ObservabilityError('invalid-argument', `admin.port: cannot listen on ${host}:${requestedPort}: ${error.message}`, { cause: error }));
    server.once('error', onError);
    server.listen(requestedPort, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  log.info({ host, port }, 'admin server listening');

  return {
    port,
    url: `http://${urlHost}:${port}`,
    addReadinessCheck(name, check) {
      if (!CHECK_NAME.test(name)) {
        throw new ObservabilityError('invalid-argument', `readiness check name: "${name}" must match ${CHECK_NAME.source}`);
      }
      if (name === 'shutdown' || name === 'startup' || checks.has(name)) {
        throw new ObservabilityError('already-exists', `readiness check name: "${name}" is already registered`);
      }
      checks.set(name, check);
      return () => {
        if (checks.get(name) === check) checks.delete(name);
      };
    },
    addJsonRoute(path, route) {
      if (!path.startsWith('/') || path in routes || appRoutes.has(path)) {
        throw new ObservabilityError('already-exists', `admin route "${path}": must start with / and not be taken (taken: ${[...Object.keys(routes), ...appRoutes.keys()].join(', ')})`);
      }
      appRoutes.set(path, route);
    },
    setShuttingDown() {
      shuttingDown = true;
    },
    readiness,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
