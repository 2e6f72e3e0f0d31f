// The two halves between the ADS protocol and its transport (go-control-plane's Send/Recv split): the
// transport hands each request to a session (`receive`), and the session writes encoded responses to
// an AdsStream. Tests drive sessions over a ten-line fake stream; production runs them over grpc-js.
import type { XdsError } from './errors.ts';

/** Where a session writes: a gRPC call in production, a fake in tests. */
export interface AdsStream {
  /**
   * Writes one encoded (Delta)DiscoveryResponse. Returns false when the transport's buffer is full: the
   * session sends nothing more until the transport calls `drained()`.
   */
  send(message: Uint8Array): boolean;
  /** Ends the stream: OK without an error, else with the error's code and message as the status. */
  close(error?: XdsError): void;
}

/** What the transport calls on a session. */
export interface AdsSessionHandle<Request> {
  receive(request: Request): void;
  /** The stream can take more responses again. */
  drained(): void;
  /** The stream ended from the other side (the proxy closed it, the connection dropped). */
  ended(): void;
}

/** The TLS peer as the transport verified it. */
export interface PeerIdentity {
  /** Subject CN of a client certificate that chains to the mesh root; undefined when there is none such. */
  readonly commonName: string | undefined;
  /** The URI SANs of that certificate (empty when there is none such). */
  readonly uris: readonly string[];
  /** `ip:port`, for logs. */
  readonly address: string;
}
