// Root CA generation (the self-signing provider's candidate root).
import { createPrivateKey } from 'node:crypto';
import type { Clock } from '@osm/clock';
import { nodeKeyGenerator, nodeRandomSource, type KeyGenerator, type RandomSource } from './keys.ts';
import { toPem } from './pem.ts';
import { buildRootCertificate, type KeyAlgorithm } from './x509.ts';

export const DEFAULT_ROOT_COMMON_NAME = 'osm-ca.openservicemesh.io';
export const DEFAULT_ROOT_ORGANIZATION = 'Open Service Mesh';
/** OSM's default root validity: 87600h (10 years). */
export const DEFAULT_ROOT_VALIDITY_MS = 87600 * 3600 * 1000;

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
  const certificate = buildRootCertificate({
    commonName: options.commonName ?? DEFAULT_ROOT_COMMON_NAME,
    organization: options.organization ?? DEFAULT_ROOT_ORGANIZATION,
    privateKey: createPrivateKey(key.privateKeyPem),
    now: options.clock.now(),
    validityMs: options.validityMs ?? DEFAULT_ROOT_VALIDITY_MS,
    serial: (options.random ?? nodeRandomSource).bytes(16),
  });
  return { certificatePem: toPem('CERTIFICATE', certificate), privateKeyPem: key.privateKeyPem };
}
