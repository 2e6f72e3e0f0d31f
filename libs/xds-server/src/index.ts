// Public entry of @osm/xds-server: the Aggregated Discovery Service, state-of-the-world and delta,
// with the protocol in sessions over a small stream interface (AdsService) and grpc-js with mTLS as
// its transport (startAdsServer).
export { AdsService, type AdsServiceOptions } from './service.ts';
export { startAdsServer, grpcStatusOf, type AdsServer, type AdsServerOptions, type AdsTls } from './grpc.ts';
export { CertificateProxyVerifier, type CertificateVerifierOptions, type ProxyDirectory, type ProxyVerifier, type Verification } from './identity.ts';
export { XdsError, type XdsErrorCode } from './errors.ts';
export { DEFAULT_LIMITS, type AdsEvents, type AdsLimits, type StreamKind, type StreamStatus, type TypeStatus } from './session.ts';
export type { AdsSessionHandle, AdsStream, PeerIdentity } from './stream.ts';
export { SHORT_NAMES } from './types.ts';
