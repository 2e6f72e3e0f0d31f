// Root CA generation (the self-signing provider's candidate root), built with @peculiar/x509.
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import type { Clock } from '@osm/clock';
import { CertificateError } from './errors.ts';
import { nodeKeyGenerator, nodeRandomSource, type KeyGenerator, type RandomSource } from './keys.ts';
import { cryptoKeyPair, x509 } from './peculiar.ts';
import { toPem } from './pem.ts';
import { CLOCK_SKEW_MS, signatureSchemeFor, type KeyAlgorithm } from './x509.ts';

export const DEFAULT_ROOT_COMMON_NAME = 'osm-ca.openservicemesh.io';
export const DEFAULT_ROOT_ORGANIZATION = 'Open Service Mesh';
/** OSM's default root validity: 87600h (10 years). */
export const DEFAULT_ROOT_VALIDITY_MS = 87600 * 3600 * 1000;

/** What a self-signed root is made of. */
export interface RootRequest {
  readonly commonName: string;
  readonly organization?: string;
  readonly privateKey: KeyObject;
  /** Epoch milliseconds; notBefore is set back by CLOCK_SKEW_MS from it. */
  readonly now: number;
  readonly validityMs: number;
  /** Serial bytes (not all zero), encoded as a positive INTEGER. */
  readonly serial: Uint8Array;
}

const HASHES = { sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512' } as const;

/**
 * A self-signed CA certificate, as DER: basicConstraints CA:TRUE and keyUsage keyCertSign + cRLSign
 * (both critical, as OSM's root: pkg/certificate/providers/tresor/ca.go), a subject key identifier, and
 * the signature the key's curve calls for (ECDSA P-256/SHA-256, P-384/SHA-384, P-521/SHA-512, RSA/SHA-256).
 */
export async function buildRootCertificate(request: RootRequest): Promise<Buffer> {
  const scheme = signatureSchemeFor(request.privateKey);
  if (!scheme) throw new CertificateError('UnsupportedKey', `root keys must be ECDSA (P-256, P-384, P-521) or RSA, not ${request.privateKey.asymmetricKeyType ?? 'unknown'}`);
  if (!request.serial.some((b) => b !== 0)) throw new CertificateError('InvalidArgument', 'the root serial must not be zero');
  const { keys, signingAlgorithm } = cryptoKeyPair(request.privateKey, createPublicKey(request.privateKey), HASHES[scheme.hash]);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(request.serial).toString('hex'),
    name: [...(request.organization ? [{ O: [request.organization] }] : []), { CN: [request.commonName] }],
    notBefore: new Date(Math.floor((request.now - CLOCK_SKEW_MS) / 1000) * 1000),
    notAfter: new Date(Math.floor((request.now + request.validityMs) / 1000) * 1000),
    keys,
    signingAlgorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return Buffer.from(certificate.rawData);
}

export interface RootCAOptions {
  readonly clock: Pick<Clock, 'now'>;
  readonly commonName?: string;
  readonly organization?: string;
  readonly validityMs?: number;
  readonly keyAlgorithm?: KeyAlgorithm;
  readonly keys?: KeyGenerator;
  readonly random?: RandomSource;
}

export interface RootCAPem {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
}

/** A fresh self-signed root: ECDSA P-256 by default, 128-bit random serial. */
export async function generateRootCA(options: RootCAOptions): Promise<RootCAPem> {
  const key = await (options.keys ?? nodeKeyGenerator).generate(options.keyAlgorithm ?? 'ecdsa-p256');
  const certificate = await buildRootCertificate({
    commonName: options.commonName ?? DEFAULT_ROOT_COMMON_NAME,
    organization: options.organization ?? DEFAULT_ROOT_ORGANIZATION,
    privateKey: createPrivateKey(key.privateKeyPem),
    now: options.clock.now(),
    validityMs: options.validityMs ?? DEFAULT_ROOT_VALIDITY_MS,
    serial: (options.random ?? nodeRandomSource).bytes(16),
  });
  return { certificatePem: toPem('CERTIFICATE', certificate), privateKeyPem: key.privateKeyPem };
}
