// @peculiar/x509 for everything outside the leaf hot path: the root certificate, the CSR for
// cert-manager, and parsing and checking certificates that come from outside (a CA Secret, what
// cert-manager returns). It resolves its services through tsyringe, which needs the Reflect metadata
// API loaded first: this module is the only place that imports it, so the order is fixed here.
import 'reflect-metadata';
import type { KeyObject, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { CertificateError } from './errors.ts';

export { x509 };

/** The WebCrypto algorithm a node:crypto key signs with (ECDSA on its curve, RSA PKCS#1 v1.5), for @peculiar/x509. */
function importAlgorithm(key: KeyObject, hash: string): webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams {
  if (key.asymmetricKeyType === 'ec') {
    const curve = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' }[key.asymmetricKeyDetails?.namedCurve ?? ''];
    if (curve) return { name: 'ECDSA', namedCurve: curve };
  }
  if (key.asymmetricKeyType === 'rsa') return { name: 'RSASSA-PKCS1-v1_5', hash };
  throw new CertificateError('UnsupportedKey', `keys must be ECDSA (P-256, P-384, P-521) or RSA, not ${key.asymmetricKeyType ?? 'unknown'}`);
}

/** A node:crypto private key and its public half as a WebCrypto pair, and the signing algorithm to pass @peculiar/x509. */
export function cryptoKeyPair(privateKey: KeyObject, publicKey: KeyObject, hash: 'SHA-256' | 'SHA-384' | 'SHA-512'): { keys: webcrypto.CryptoKeyPair; signingAlgorithm: webcrypto.EcdsaParams | webcrypto.Algorithm } {
  const algorithm = importAlgorithm(privateKey, hash);
  return {
    keys: { privateKey: privateKey.toCryptoKey(algorithm, false, ['sign']), publicKey: publicKey.toCryptoKey(algorithm, true, ['verify']) },
    signingAlgorithm: algorithm.name === 'ECDSA' ? { name: 'ECDSA', hash } : { name: algorithm.name },
  };
}
