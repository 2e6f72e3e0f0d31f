// Public entry of @osm/certificates.
export { LocalCertificateAuthority } from './authority.ts';
export type { CertificateAuthority, IssueRequest, IssuedCertificate, LocalAuthorityOptions } from './authority.ts';
export { CertificateCache } from './cache.ts';
export type { CachedCertificate, CertificateCacheOptions, CertificateGeneration, RotationEvent } from './cache.ts';
export { CertManagerAuthority, CertManagerProvider } from './cert-manager.ts';
export type { CertificateRequestClient, CertificateRequestSpec, CertificateRequestState, CertManagerOptions, IssuerRef } from './cert-manager.ts';
export { CertificateError } from './errors.ts';
export type { CertificateErrorCode, Result } from './errors.ts';
export { generationAt, generationStart } from './generation.ts';
export { commonNameOf, DEFAULT_TRUST_DOMAIN, identityKey, profileOf, validateSubject } from './identity.ts';
export type { CertificateProfile, CertificateSubject } from './identity.ts';
export { nodeKeyGenerator, nodeRandomSource } from './keys.ts';
export type { GeneratedKey, KeyGenerator, RandomSource } from './keys.ts';
export { pemBlocks, toPem } from './pem.ts';
export {
  BringYourOwnProvider,
  CA_BUNDLE_SECRET_NAME,
  CA_CERT_KEY,
  CA_PRIVATE_KEY_KEY,
  CA_SECRET_LABELS,
  signingCAFromSecret,
  TresorProvider,
} from './providers.ts';
export type { BringYourOwnOptions, LoadedRoot, NewSecret, RootCAProvider, SecretKeys, SecretStore, StoredSecret, TresorOptions } from './providers.ts';
export { checkIssuedCertificate, fingerprintOf, loadSigningCA, loadTrustAnchor } from './parse.ts';
export type { CheckedCertificate, IssuedCertificateCheck, TrustAnchor } from './parse.ts';
export { buildRootCertificate, DEFAULT_ROOT_COMMON_NAME, DEFAULT_ROOT_VALIDITY_MS, generateRootCA } from './root.ts';
export type { RootCAOptions, RootCAPem, RootRequest } from './root.ts';
export { DEFAULT_SERVICE_CERT_VALIDITY_MS, MIN_SERVICE_CERT_VALIDITY_MS, resolveServiceCertValidity } from './validity.ts';
export type { ResolvedValidity } from './validity.ts';
export { CLOCK_SKEW_MS, createLeafTemplate, DEFAULT_KEY_ALGORITHM, isKeyAlgorithm, KEY_ALGORITHMS } from './x509.ts';
export type { KeyAlgorithm, LeafCertificate, LeafRequest, LeafTemplate, SigningCA } from './x509.ts';
