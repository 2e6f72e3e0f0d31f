// The ADS server's errors: a code and a message for the proxy's operator (Envoy logs it with the
// stream's close status). The gRPC transport turns the code into a gRPC status; nothing else does.

export type XdsErrorCode =
  /** A request the protocol does not allow (e.g. a first request without node.id). */
  | 'InvalidArgument'
  /** No verified client certificate, or one that is not a proxy's. */
  | 'Unauthenticated'
  /** The certificate's proxy may not have what it asked for (another node.id, another identity's secret). */
  | 'PermissionDenied'
  /** The proxy's pod is not known to the mesh. */
  | 'NotFound'
  /** The proxy does not keep up (it does not read its responses) or sends too much. */
  | 'ResourceExhausted'
  /** The server is going away (shutdown); the proxy should reconnect, to another replica if there is one. */
  | 'Unavailable';

export class XdsError extends Error {
  readonly code: XdsErrorCode;
  constructor(code: XdsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'XdsError';
    this.code = code;
  }
}
