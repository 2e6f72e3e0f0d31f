// Test-only: one raw ADS stream from a grpc-js client with mTLS, for tests where the socket, the TLS
// handshake or a malformed request is the point (refusals, garbage, shutdown, a client that stops
// reading). Not a simulated proxy: it sends exactly what the test writes and records what comes back.
import * as grpc from '@grpc/grpc-js';
import { envoy } from '@osm/envoy-api';

const { AggregatedDiscoveryServiceClient, DiscoveryRequest } = envoy.service.discovery.v3;
const { Node } = envoy.config.core.v3;
type Response = envoy.service.discovery.v3.DiscoveryResponse;
type Request = envoy.service.discovery.v3.DiscoveryRequest;

export interface ClientTls {
  readonly rootPem: string;
  /** Omit for a client without a certificate. */
  readonly certificatePem?: string;
  readonly privateKeyPem?: string;
  /** The name the server certificate must carry. */
  readonly serverName: string;
}

export class AdsTestStream {
  readonly responses: Response[] = [];
  readonly status: Promise<grpc.StatusObject>;
  readonly #client: InstanceType<typeof AggregatedDiscoveryServiceClient>;
  readonly #call: grpc.ClientDuplexStream<Request, Response>;
  #waiters: (() => void)[] = [];

  constructor(address: string, tls: ClientTls) {
    const creds = grpc.credentials.createSsl(
      Buffer.from(tls.rootPem),
      tls.privateKeyPem ? Buffer.from(tls.privateKeyPem) : null,
      tls.certificatePem ? Buffer.from(tls.certificatePem) : null,
    );
    this.#client = new AggregatedDiscoveryServiceClient(address, creds, { 'grpc.ssl_target_name_override': tls.serverName, 'grpc.default_authority': tls.serverName });
    this.#call = this.#client.streamAggregatedResources();
    this.#call.on('data', (r: Response) => {
      this.responses.push(r);
      this.#wake();
    });
    this.status = new Promise((resolve) => this.#call.on('status', (s: grpc.StatusObject) => {
      resolve(s);
      this.#wake();
    }));
    this.#call.on('error', () => undefined); // the status carries it
  }

  send(fields: Omit<Partial<Request>, 'node'> & { readonly node: { readonly id: string } }): void {
    this.#call.write({ ...DiscoveryRequest.fromPartial({}), ...fields, node: Node.fromPartial(fields.node) });
  }

  /** Stops reading responses (HTTP/2 flow control then holds the server's writes back). */
  pause(): void {
    this.#call.pause();
  }

  resume(): void {
    this.#call.resume();
  }

  /** Waits until `count` responses have arrived (or the stream ended; then fails). */
  async waitFor(count: number, timeoutMs = 20_000): Promise<Response[]> {
    const deadline = Date.now() + timeoutMs;
    let ended = false;
    void this.status.then(() => (ended = true));
    while (this.responses.length < count) {
      if (ended) throw new Error(`stream ended with ${this.responses.length} of ${count} responses: ${JSON.stringify(await this.status)}`);
      if (Date.now() > deadline) throw new Error(`timed out with ${this.responses.length} of ${count} responses`);
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
    return this.responses.slice(0, count);
  }

  close(): void {
    this.#call.cancel();
    this.#client.close();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}
