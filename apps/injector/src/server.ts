// The HTTPS server of the webhook: one path, JSON in and out, bodies capped, the serving certificate
// swapped in place on renewal (new handshakes get the new one; open connections keep theirs and go on),
// and a close that lets requests in flight finish.
import { createServer, type Server } from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { identityKey, type CertificateSubject, type IssuedCertificate, type RotationEvent } from '@osm/certificates';
import type { Logger } from '@osm/observability';

/** What a handler answers: an HTTP status and a JSON body. */
export interface JsonReply {
  readonly status: number;
  readonly body: unknown;
}

export interface WebhookServerOptions {
  readonly host: string;
  readonly port: number;
  readonly path: string;
  readonly certificatePem: string;
  readonly privateKeyPem: string;
  /** Larger bodies get 413 unread. */
  readonly maxBodyBytes: number;
  /** Called with the parsed JSON body of a POST to `path`, and its headers (a caller's trace context). */
  readonly handle: (body: unknown, headers: IncomingHttpHeaders) => Promise<JsonReply>;
  readonly logger: Logger;
}

export interface WebhookServer {
  readonly port: number;
  /** Serves `certificatePem` to new connections from now on. */
  setCertificate(certificatePem: string, privateKeyPem: string): void;
  /** Stops accepting, waits up to `graceMs` for requests in flight, then closes what is left. */
  close(graceMs: number): Promise<void>;
}

function send(res: ServerResponse, { status, body }: JsonReply, close: boolean): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...(close ? { connection: 'close' } : {}) });
  res.end(text);
}

const problem = (status: number, message: string): JsonReply => ({ status, body: { code: status, message } });

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return 'too-large';
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export async function startWebhookServer(options: WebhookServerOptions): Promise<WebhookServer> {
  const log = options.logger.child({ subsystem: 'webhook-server' });
  // Once closing, every answer closes its connection, so keep-alive clients move to another replica.
  let closing = false;
  const reply = (res: ServerResponse, answer: JsonReply, close = false): void => send(res, answer, close || closing);
  const onRequest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== options.path) return reply(res, problem(404, `no such path ${JSON.stringify(path)}: the webhook is at ${options.path}`));
    if (req.method !== 'POST') return reply(res, problem(405, `method ${req.method} is not allowed: expected POST`));
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/json') return reply(res, problem(415, `content type ${JSON.stringify(req.headers['content-type'] ?? '')} is not supported: expected application/json`));
    const declared = Number(req.headers['content-length'] ?? 0);
    const tooLarge = problem(413, `the body is larger than ${options.maxBodyBytes} bytes`);
    // Refused before reading; the connection is closed so the rest of the body is not read either.
    if (declared > options.maxBodyBytes) return reply(res, tooLarge, true);
    const body = await readBody(req, options.maxBodyBytes);
    if (body === 'too-large') return reply(res, tooLarge, true);
    if (body.length === 0) return reply(res, problem(400, 'the body is empty: expected an AdmissionReview'));
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (err) {
      return reply(res, problem(400, `the body is not JSON: ${(err as Error).message}`));
    }
    reply(res, await options.handle(parsed, req.headers));
  };

  const server: Server = createServer({ cert: options.certificatePem, key: options.privateKeyPem, minVersion: 'TLSv1.2' }, (req, res) => {
    onRequest(req, res).catch((err: unknown) => {
      log.error({ err }, 'webhook request failed');
      if (!res.headersSent) reply(res, problem(500, `internal error: ${(err as Error).message}`), true);
      else res.destroy();
    });
  });
  // Handshake failures (scanners, clients that distrust us) are the client's problem, not ours.
  server.on('tlsClientError', (err) => log.debug({ err: err.message }, 'TLS handshake failed'));
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  // Idle keep-alive connections are closed by the client, never by us: the API server's client keeps
  // them up to 90 s, and a server closing first races with a request sent on the closing connection
  // (seen under load as "connection reset by peer" failing a pod creation).
  server.keepAliveTimeout = 120_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    setCertificate(certificatePem, privateKeyPem) {
      server.setSecureContext({ cert: certificatePem, key: privateKeyPem, minVersion: 'TLSv1.2' });
    },
    async close(graceMs) {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), graceMs);
      await closed;
      clearTimeout(timer);
    },
  };
}

/** Where the serving certificate comes from: a cache that issues it and renews it before it expires. */
export interface ServingCertificates {
  get(subject: CertificateSubject): Promise<IssuedCertificate>;
  onRotate(listener: (event: RotationEvent) => void): () => void;
}

/**
 * Starts the server with `subject`'s certificate from `certificates` and hands it every renewal of that
 * certificate (until closed). Also answers with the first certificate, for the readiness message.
 */
export async function startRenewingWebhookServer(
  options: Omit<WebhookServerOptions, 'certificatePem' | 'privateKeyPem'>,
  certificates: ServingCertificates,
  subject: CertificateSubject,
): Promise<{ server: WebhookServer; certificate: IssuedCertificate }> {
  const certificate = await certificates.get(subject);
  const server = await startWebhookServer({ ...options, certificatePem: certificate.certificatePem, privateKeyPem: certificate.privateKeyPem });
  const identity = identityKey(subject);
  const unsubscribe = certificates.onRotate((event) => {
    if (event.identity !== identity) return;
    server.setCertificate(event.current.certificatePem, event.current.privateKeyPem);
    options.logger.info({ serial: event.current.serial, notAfter: new Date(event.current.notAfter).toISOString() }, 'serving certificate renewed');
  });
  return {
    certificate,
    server: {
      port: server.port,
      setCertificate: (certificatePem, privateKeyPem) => server.setCertificate(certificatePem, privateKeyPem),
      close: (graceMs) => (unsubscribe(), server.close(graceMs)),
    },
  };
}
