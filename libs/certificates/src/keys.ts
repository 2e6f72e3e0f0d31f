// Key generation and randomness: the only non-deterministic inputs to issuance, kept behind small
// interfaces so the core can be driven with plain values in tests.
import { generateKeyPair, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { KeyAlgorithm } from './x509.ts';

/** A fresh key pair: the SubjectPublicKeyInfo (DER) to certify and the private key (PKCS#8 PEM) to hand out. */
export interface GeneratedKey {
  readonly publicKeySpki: Buffer;
  readonly privateKeyPem: string;
}

export interface KeyGenerator {
  /** ECDSA keys are made synchronously (tens of microseconds); RSA keys off the main thread. */
  generate(algorithm: KeyAlgorithm): GeneratedKey | Promise<GeneratedKey>;
}

export interface RandomSource {
  bytes(length: number): Uint8Array;
}

const rsaBits = (algorithm: Exclude<KeyAlgorithm, 'ecdsa-p256'>): number => Number(algorithm.slice(4));

/** node:crypto key generation. */
export const nodeKeyGenerator: KeyGenerator = {
  generate(algorithm: KeyAlgorithm): GeneratedKey | Promise<GeneratedKey> {
    if (algorithm === 'ecdsa-p256') {
      const { publicKey, privateKey } = generateKeyPairSync('ec', {
        namedCurve: 'prime256v1',
        publicKeyEncoding: { type: 'spki', format: 'der' },
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      });
      return { publicKeySpki: publicKey, privateKeyPem: privateKey };
    }
    return new Promise<GeneratedKey>((resolve, reject) => {
      generateKeyPair(
        'rsa',
        { modulusLength: rsaBits(algorithm), publicKeyEncoding: { type: 'spki', format: 'der' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } },
        (err, publicKey, privateKey) => (err ? reject(err) : resolve({ publicKeySpki: publicKey, privateKeyPem: privateKey })),
      );
    });
  },
};

/** node:crypto randomness; randomBytes draws from a pooled CSPRNG buffer for small sizes. */
export const nodeRandomSource: RandomSource = { bytes: (length) => randomBytes(length) };
