// The admin HTTP server: /livez, /readyz, /metrics, /version and OSM's /health/* aliases.
// A minimal node:http server until libs/observability provides the shared one.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AdminState {
  /** undefined when ready; otherwise why not. */
  notReadyReason(): string | undefined;
  readyDetails(): Record<string, unknown>;
  metrics(): string;
  version(): Record<string, string>;
}

export interface AdminServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startAdminServer(state: AdminState, address: string, port: number): Promise<AdminServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: string, type = 'application/json'): void => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, JSON.stringify({ error: 'only GET' }));
    switch (path) {
      case '/livez':
      case '/health/alive':
        return send(200, JSON.stringify({ status: 'alive' }));
      case '/readyz':
      case '/health/ready': {
        const reason = state.notReadyReason();
        return reason === undefined ? send(200, JSON.stringify({ status: 'ready', ...state.readyDetails() })) : send(503, JSON.stringify({ status: 'not ready', reason }));
      }
      case '/metrics':
        return send(200, state.metrics(), 'text/plain; version=0.0.4; charset=utf-8');
      case '/version':
        return send(200, JSON.stringify(state.version()));
      default:
        return send(404, JSON.stringify({ error: `no such path ${path}` }));
    }
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
