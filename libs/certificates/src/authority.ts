// A certificate authority as the rest of the mesh sees it: a root fingerprint, a trust bundle, and issue().
// LocalCertificateAuthority signs in-process with a loaded root (self-generated or brought by the user).
import type { Clock } from '@osm/clock';
import { CertificateError } from './errors.ts';
import { identityKey, type CertificateSubject } from './identity.ts';
import { nodeKeyGenerator, nodeRandomSource, type GeneratedKey, type KeyGenerator, type RandomSource } from './keys.ts';
import { createLeafTemplate, DEFAULT_KEY_ALGORITHM, type KeyAlgorithm, type LeafTemplate, type SigningCA } from './x509.ts';

export interface IssueRequest {
  readonly subject: CertificateSubject;
  readonly validityMs: number;
  /** Default ECDSA P-256. */
  readonly keyAlgorithm?: KeyAlgorithm;
}

export interface IssuedCertificate {
  /** identityKey(subject): `service:<ns>/<sa>` or `bootstrap:<ns>/<sa>/<uuid>`. */
  readonly identity: string;
  readonly subject: CertificateSubject;
  readonly commonName: string;
  /** Serial number, hex. */
  readonly serial: string;
  /** Epoch milliseconds. */
  readonly notBefore: number;
  readonly notAfter: number;
  readonly certificatePem: string;
  readonly privateKeyPem: string;
  /** The roots a peer presenting this certificate is verified against. */
  readonly trustBundlePem: string;
  /** SHA-256 (hex) of the root that signed it. */
  readonly rootFingerprint: string;
}

/** The one interface every root CA provider yields. */
export interface CertificateAuthority {
  readonly rootFingerprint: string;
  readonly trustBundlePem: string;
  readonly notAfter: number;
  issue(request: IssueRequest): Promise<IssuedCertificate>;
}

export interface LocalAuthorityOptions {
  readonly ca: SigningCA;
  readonly trustDomain: string;
  readonly clock: Pick<Clock, 'now'>;
  readonly keys?: KeyGenerator;
  readonly random?: RandomSource;
}

const SERIAL_BYTES = 16;

export class LocalCertificateAuthority implements CertificateAuthority {
  readonly rootFingerprint: string;
  readonly trustBundlePem: string;
  readonly notAfter: number;
  readonly #template: LeafTemplate;
  readonly #options: LocalAuthorityOptions;
  readonly #keys: KeyGenerator;
  readonly #random: RandomSource;

  constructor(options: LocalAuthorityOptions) {
    this.#options = options;
    this.#template = createLeafTemplate(options.ca);
    this.#keys = options.keys ?? nodeKeyGenerator;
    this.#random = options.random ?? nodeRandomSource;
    this.rootFingerprint = options.ca.fingerprint;
    this.trustBundlePem = options.ca.trustBundlePem;
    this.notAfter = options.ca.notAfter;
  }

  /** Issues with a key that is already made; the synchronous fast path. */
  issueWithKey(request: IssueRequest, key: GeneratedKey): IssuedCertificate {
    const keyAlgorithm = request.keyAlgorithm ?? DEFAULT_KEY_ALGORITHM;
    const leaf = this.#template.build({
      subject: request.subject,
      trustDomain: this.#options.trustDomain,
      publicKeySpki: key.publicKeySpki,
      keyAlgorithm,
      now: this.#options.clock.now(),
      validityMs: request.validityMs,
      serial: this.#random.bytes(SERIAL_BYTES),
    });
    return {
      identity: identityKey(request.subject),
      subject: request.subject,
      commonName: leaf.commonName,
      serial: leaf.serial,
      notBefore: leaf.notBefore,
      notAfter: leaf.notAfter,
      certificatePem: leaf.pem,
      privateKeyPem: key.privateKeyPem,
      trustBundlePem: this.trustBundlePem,
      rootFingerprint: this.rootFingerprint,
    };
  }

  /** Synchronous issuance for ECDSA keys (the default); RSA needs issue(). */
  issueSync(request: IssueRequest): IssuedCertificate {
    const key = this.#keys.generate(request.keyAlgorithm ?? DEFAULT_KEY_ALGORITHM);
    if (key instanceof Promise) throw new CertificateError('InvalidArgument', `keyAlgorithm ${request.keyAlgorithm} cannot be issued synchronously; use issue()`);
    return this.issueWithKey(request, key);
  }

  async issue(request: IssueRequest): Promise<IssuedCertificate> {
    const key = await this.#keys.generate(request.keyAlgorithm ?? DEFAULT_KEY_ALGORITHM);
    return this.issueWithKey(request, key);
  }
}
