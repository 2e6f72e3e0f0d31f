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
// - Keepalive pings; an optional maximum connection age (grpc-js sends GOAWAY at the age ±10 %, then
//   cuts what is left after a grace period) so proxies spread over replicas added later.
// - Shutdown: stop accepting, GOAWAY on every connection, end every stream with UNAVAILABLE so the
//   proxies reconnect to another replica, and force-close what is left after the grace period.
import * as grpc from '@grpc/grpc-js';
import { once } from 'node:events';
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
  /** Maximum connection age (±10 % jitter), 0 = unlimited (default). */
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
    ...(maxAge > 0 ? { 'grpc.max_connection_age_ms': maxAge, 'grpc.max_connection_age_grace_ms': options.maxConnectionAgeGraceMs ?? 10_000 } : {}),
  });
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
    injector.injectConnection(socket);
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(new XdsError('Unavailable', `ADS server cannot listen on ${options.host}:${options.port}: ${err.message}`, { cause: err }));
    listener.once('error', onError);
    listener.listen({ host: options.host, port: options.port, backlog: options.backlog ?? 4096 }, () => {
      listener.off('error', onError);
      resolve();
    });
  });
  listener.on('error', (err) => log.error({ err }, 'ADS listener error'));
  const { port } = listener.address() as AddressInfo;
  log.info({ host: options.host, port, maxConnectionAgeMs: maxAge }, 'ADS server listening');
  let stopping: Promise<void> | undefined;
  return {
    host: options.host,
    port,
    updateTls: (tls) => credentials.update(tls),
    shutdown(graceMs) {
      stopping ??= new Promise<void>((resolve) => {
        listener.close();
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
