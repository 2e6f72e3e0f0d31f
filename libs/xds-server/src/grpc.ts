// The ADS service over grpc-js, with mTLS. The edge of the server: here a session's XdsError becomes a
// gRPC status, and the TLS peer becomes a PeerIdentity.
//
// - Connections are accepted by our own net.Server (listen backlog 4,096; grpc-js's bindAsync uses
//   Node's 511, and a reconnect storm of thousands of proxies overflows it) and handed to grpc-js
//   through its connection injector. Channelz is off (it costs CPU on every call).
// - TLS asks for a client certificate but does not reject the handshake without one: the stream is
//   refused with UNAUTHENTICATED and a message instead, which the proxy logs (a TLS alert says less).
//   Only a certificate that chains to the mesh root is seen as verified.
// - Responses are already encoded (wire.ts); the service definition passes their bytes through.
// - Keepalive pings; an optional maximum connection age so proxies spread over replicas added later:
//   at the age ±10 % (jitter, so connections opened together are not recycled together) GOAWAY, then
//   what is left is cut after a grace period. Kept here rather than by grpc-js (which does the same
//   with its max_connection_age options) so each connection's deadline can be read (`connectionClosesAt`,
//   the debug endpoint's `closesAt`).
// - Shutdown: stop accepting, GOAWAY on every connection, end every stream with UNAVAILABLE so the
//   proxies reconnect to another replica, and force-close what is left after the grace period.
import * as grpc from '@grpc/grpc-js';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { once } from 'node:events';
import { constants as http2, type Http2Session, type ServerHttp2Stream } from 'node:http2';
import { createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { envoy } from '@osm/envoy-api';
import type { Logger } from '@osm/observability';
import { XdsError, type XdsErrorCode } from './errors.ts';
import type { AdsService } from './service.ts';
import type { AdsSessionHandle, AdsStream, PeerIdentity } from './stream.ts';

const ADS = envoy.service.discovery.v3.AggregatedDiscoveryServiceService;
type DiscoveryRequest = envoy.service.discovery.v3.DiscoveryRequest;
type DeltaDiscoveryRequest = envoy.service.discovery.v3.DeltaDiscoveryRequest;

const passThrough = (message: Uint8Array): Buffer => (Buffer.isBuffer(message) ? message : Buffer.from(message.buffer, message.byteOffset, message.byteLength));

/** ADS with requests decoded by the generated codecs and responses written as they come (already encoded). */
const definition = {
  streamAggregatedResources: { ...ADS.streamAggregatedResources, responseSerialize: passThrough, responseDeserialize: (b: Buffer): Buffer => b },
  deltaAggregatedResources: { ...ADS.deltaAggregatedResources, responseSerialize: passThrough, responseDeserialize: (b: Buffer): Buffer => b },
} satisfies grpc.ServiceDefinition;

const STATUS: Readonly<Record<XdsErrorCode, grpc.status>> = {
  InvalidArgument: grpc.status.INVALID_ARGUMENT,
  Unauthenticated: grpc.status.UNAUTHENTICATED,
  PermissionDenied: grpc.status.PERMISSION_DENIED,
  NotFound: grpc.status.NOT_FOUND,
  ResourceExhausted: grpc.status.RESOURCE_EXHAUSTED,
  Unavailable: grpc.status.UNAVAILABLE,
};

/** The gRPC status code of an XdsError code. */
export const grpcStatusOf = (code: XdsErrorCode): grpc.status => STATUS[code];

/** PEM material of the ADS server's TLS. */
export interface AdsTls {
  /** The server certificate (and chain). */
  readonly certificatePem: string;
  readonly privateKeyPem: string;
  /** Roots that client (proxy bootstrap) certificates must chain to. */
  readonly trustBundlePem: string;
}

const contextOf = (tls: AdsTls): { ca: Buffer; cert: Buffer; key: Buffer } => ({
  ca: Buffer.from(tls.trustBundlePem),
  cert: Buffer.from(tls.certificatePem),
  key: Buffer.from(tls.privateKeyPem),
});

/** TLS credentials whose certificate and roots can be replaced while serving (rotation). */
class RotatingServerCredentials extends grpc.ServerCredentials {
  constructor(tls: AdsTls) {
    super({ requestCert: true, rejectUnauthorized: false }, contextOf(tls));
  }
  update(tls: AdsTls): void {
    this.updateSecureContextOptions(contextOf(tls));
  }
  override _equals(other: grpc.ServerCredentials): boolean {
    return other === this;
  }
}

export interface AdsServerOptions {
  readonly service: AdsService;
  readonly host: string;
  /** 0 picks a free port (see `port` on the result). */
  readonly port: number;
  readonly tls: AdsTls;
  readonly logger: Logger;
  /** Server keepalive pings. Default 30 s, answered within 10 s. */
  readonly keepaliveTimeMs?: number;
  readonly keepaliveTimeoutMs?: number;
  /** Maximum connection age (±10 % jitter, drawn per connection), 0 = unlimited (default). */
  readonly maxConnectionAgeMs?: number;
  /** How long streams may go on after the age's GOAWAY. Default 10 s. */
  readonly maxConnectionAgeGraceMs?: number;
  /** Listen backlog. Default 4,096. */
  readonly backlog?: number;
}

export interface AdsServer {
  readonly host: string;
  readonly port: number;
  /** New server certificate or roots for new connections (rotation). */
  updateTls(tls: AdsTls): void;
  /** Graceful stop within `graceMs`: no new connections, GOAWAY, every stream ended with UNAVAILABLE. */
  shutdown(graceMs: number): Promise<void>;
  /**
   * When the connection of a stream's peer (`host:port`, as in StreamStatus.peer) reaches its maximum
   * age and is sent GOAWAY (ms since the epoch); undefined without a maximum age or for an unknown peer.
   */
  connectionClosesAt(peer: string): number | undefined;
}

/** grpc-js's GOAWAY for an aged connection: every open stream may finish (last stream id 2^31-1), debug data "max_age". */
const LAST_STREAM_ID = 2 ** 31 - 1;
const MAX_AGE_DEBUG_DATA = Buffer.from('max_age');
/** Node's channel for each HTTP/2 stream a server creates: how an accepted socket's session is found. */
const STREAM_CREATED = 'http2.server.stream.created';

interface AgedConnection {
  readonly socket: Socket;
  readonly closesAt: number;
  readonly timers: NodeJS.Timeout[];
  /** Known from the connection's first stream (a connection without streams is simply closed). */
  session?: Http2Session;
}

/** Each accepted connection's deadline: GOAWAY at the maximum age ±10 %, then the socket is cut after the grace period. */
class ConnectionAges {
  readonly #maxAgeMs: number;
  readonly #graceMs: number;
  readonly #byPeer = new Map<string, AgedConnection>();
  #port = 0;
  readonly #onStream = (message: unknown): void => {
    const session = (message as { stream: ServerHttp2Stream }).stream.session;
    const socket = session?.socket;
    if (!socket || socket.localPort !== this.#port) return;
    const aged = this.#byPeer.get(`${socket.remoteAddress}:${socket.remotePort}`);
    if (aged && !aged.session) aged.session = session;
  };

  constructor(maxAgeMs: number, graceMs: number) {
    this.#maxAgeMs = maxAgeMs;
    this.#graceMs = graceMs;
    subscribe(STREAM_CREATED, this.#onStream);
  }

  listening(port: number): void {
    this.#port = port;
  }

  accept(socket: Socket): void {
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    const ageMs = this.#maxAgeMs * (0.9 + 0.2 * Math.random());
    const aged: AgedConnection = { socket, closesAt: Date.now() + ageMs, timers: [] };
    this.#byPeer.set(peer, aged);
    aged.timers.push(setTimeout(() => this.#expire(aged), ageMs).unref());
    socket.once('close', () => {
      for (const t of aged.timers) clearTimeout(t);
      if (this.#byPeer.get(peer) === aged) this.#byPeer.delete(peer);
    });
  }

  closesAt(peer: string): number | undefined {
    return this.#byPeer.get(peer)?.closesAt;
  }

  #expire(aged: AgedConnection): void {
    const session = aged.session;
    if (!session || session.destroyed || session.closed) return void aged.socket.destroy();
    try {
      session.goaway(http2.NGHTTP2_NO_ERROR, LAST_STREAM_ID, MAX_AGE_DEBUG_DATA);
    } catch {
      // The session is closing already: nothing to announce.
      return void aged.socket.destroy();
    }
    session.close();
    aged.timers.push(setTimeout(() => aged.socket.destroy(), this.#graceMs).unref());
  }

  stop(): void {
    unsubscribe(STREAM_CREATED, this.#onStream);
  }
}

// One entry of Node's `subjectaltname` ("DNS:a, URI:spiffe://b, IP Address:c"), read from where the
// last one ended: Node writes a value that holds a comma, a quote or a control character as a JSON
// string, so a plain value has no comma, and a quoted one is read whole (a quoted DNS name holding
// ", URI:..." is not a URI).
const SAN_ENTRY = /([^:,]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/y;

/** The URI SANs of Node's `subjectaltname` string of a peer certificate. */
export function sanUris(subjectAltName: string | undefined): string[] {
  const uris: string[] = [];
  if (!subjectAltName) return uris;
  SAN_ENTRY.lastIndex = 0;
  for (let m = SAN_ENTRY.exec(subjectAltName); m && m[0] !== ''; m = SAN_ENTRY.exec(subjectAltName)) {
    const [, kind, value = ''] = m;
    if (kind === 'URI') uris.push(value.startsWith('"') ? (JSON.parse(value) as string) : value);
  }
  return uris;
}

function peerOf(call: grpc.ServerDuplexStream<unknown, unknown>): PeerIdentity {
  // grpc-js reports a peer certificate only when it chained to the configured roots (socket.authorized).
  const certificate = call.getAuthContext().sslPeerCertificate;
  const cn = certificate?.subject?.CN;
  return { commonName: typeof cn === 'string' && cn !== '' ? cn : undefined, uris: sanUris(certificate?.subjectaltname), address: call.getPeer() };
}

function bind<Request>(open: (stream: AdsStream, peer: PeerIdentity) => AdsSessionHandle<Request>, log: Logger): grpc.handleBidiStreamingCall<Request, Uint8Array> {
  return (call) => {
    let done = false;
    const stream: AdsStream = {
      send: (message) => call.write(message),
      close: (error) => {
        if (done) return;
        done = true;
        if (error) call.emit('error', { code: STATUS[error.code], details: error.message });
        else call.end();
      },
    };
    const session = open(stream, peerOf(call));
    call.on('data', (request: Request) => session.receive(request));
    call.on('drain', () => session.drained());
    // The proxy half-closed: nothing more will come; end ours too.
    call.on('end', () => {
      session.ended();
      stream.close();
    });
    call.on('cancelled', () => {
      done = true;
      session.ended();
    });
    call.on('error', (err: unknown) => {
      // Our own close emits 'error' with the status; anything else is a broken transport.
      if (!done) log.debug({ err }, 'ADS stream error');
      done = true;
      session.ended();
    });
  };
}

export async function startAdsServer(options: AdsServerOptions): Promise<AdsServer> {
  const log = options.logger;
  const maxAge = options.maxConnectionAgeMs ?? 0;
  const server = new grpc.Server({
    'grpc.enable_channelz': 0,
    'grpc.keepalive_time_ms': options.keepaliveTimeMs ?? 30_000,
    'grpc.keepalive_timeout_ms': options.keepaliveTimeoutMs ?? 10_000,
  });
  const ages = maxAge > 0 ? new ConnectionAges(maxAge, options.maxConnectionAgeGraceMs ?? 10_000) : undefined;
  const service = options.service;
  server.addService(definition, {
    streamAggregatedResources: bind<DiscoveryRequest>((stream, peer) => service.openSotw(stream, peer), log),
    deltaAggregatedResources: bind<DeltaDiscoveryRequest>((stream, peer) => service.openDelta(stream, peer), log),
  });
  const credentials = new RotatingServerCredentials(options.tls);
  const injector = server.createConnectionInjector(credentials);
  const sockets = new Set<Socket>();
  const listener: NetServer = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    ages?.accept(socket);
    injector.injectConnection(socket);
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      ages?.stop();
      reject(new XdsError('Unavailable', `ADS server cannot listen on ${options.host}:${options.port}: ${err.message}`, { cause: err }));
    };
    listener.once('error', onError);
    listener.listen({ host: options.host, port: options.port, backlog: options.backlog ?? 4096 }, () => {
      listener.off('error', onError);
      resolve();
    });
  });
  listener.on('error', (err) => log.error({ err }, 'ADS listener error'));
  const { port } = listener.address() as AddressInfo;
  ages?.listening(port);
  log.info({ host: options.host, port, maxConnectionAgeMs: maxAge }, 'ADS server listening');
  let stopping: Promise<void> | undefined;
  return {
    host: options.host,
    port,
    updateTls: (tls) => credentials.update(tls),
    connectionClosesAt: (peer) => ages?.closesAt(peer),
    shutdown(graceMs) {
      stopping ??= new Promise<void>((resolve) => {
        listener.close();
        ages?.stop();
        const timer = setTimeout(() => {
          log.warn({ streams: service.size, connections: sockets.size }, 'ADS drain grace period over; closing the remaining connections');
          server.forceShutdown();
          // With channelz off grpc-js does not track its sessions, so forceShutdown leaves them open: close their sockets.
          for (const socket of sockets) socket.destroy();
          resolve();
        }, graceMs);
        timer.unref();
        // GOAWAY on every connection first, so a proxy whose stream ends opens a new connection. Done
        // once every connection is closed, so the streams' statuses have left before the process exits.
        server.tryShutdown(() => {
          void Promise.all([...sockets].map((socket) => once(socket, 'close'))).then(() => {
            clearTimeout(timer);
            resolve();
          });
        });
        const streams = service.closeAll(new XdsError('Unavailable', 'the controller is shutting down: reconnect to another replica'));
        log.info({ streams, graceMs }, 'ADS server draining');
      });
      return stopping;
    },
  };
}
