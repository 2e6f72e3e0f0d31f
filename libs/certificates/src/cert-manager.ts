// The cert-manager provider: leaf certificates are requested through cert-manager.io/v1 CertificateRequest
// objects (the key never leaves this process) and waited for; what comes back is checked against the
// generated key, the subject's profile and the trust anchor before it is used. The trust anchor is read
// from a Secret. The Kubernetes API is reached only through CertificateRequestClient, which the apps implement.
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import type { Clock } from '@osm/clock';
import type { CertificateAuthority, IssueRequest, IssuedCertificate } from './authority.ts';
import { CertificateError, fail, ok, type Result } from './errors.ts';
import { commonNameOf, identityKey, profileOf, validateSubject, type CertificateProfile, type CertificateSubject } from './identity.ts';
import { nodeKeyGenerator, nodeRandomSource, type KeyGenerator, type RandomSource } from './keys.ts';
import { checkIssuedCertificate, loadTrustAnchor, type TrustAnchor } from './parse.ts';
import { cryptoKeyPair, x509 } from './peculiar.ts';
import { CA_BUNDLE_SECRET_NAME, CA_CERT_KEY, type LoadedRoot, type RootCAProvider, type SecretStore } from './providers.ts';
import { DEFAULT_KEY_ALGORITHM, serialHex, type KeyAlgorithm } from './x509.ts';

export interface IssuerRef {
  readonly name: string;
  /** Issuer or ClusterIssuer; default Issuer. */
  readonly kind?: string;
  /** Default cert-manager.io. */
  readonly group?: string;
}

export interface CertificateRequestSpec {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** PEM PKCS#10 request. */
  readonly csrPem: string;
  readonly durationMs: number;
  readonly issuerRef: IssuerRef;
  /** cert-manager usage names. */
  readonly usages: readonly string[];
}

export interface CertificateRequestState {
  readonly ready: boolean;
  /** Set when cert-manager gave up (Ready=False with reason Failed, or Denied=True). */
  readonly failure?: string;
  readonly certificatePem?: string;
  readonly caPem?: string;
}

/** The three CertificateRequest operations the provider needs. Transient API failures reject. */
export interface CertificateRequestClient {
  create(request: CertificateRequestSpec): Promise<void>;
  get(namespace: string, name: string): Promise<CertificateRequestState | undefined>;
  delete(namespace: string, name: string): Promise<void>;
}

export interface CertManagerOptions {
  readonly client: CertificateRequestClient;
  readonly store: SecretStore;
  /** Where CertificateRequests are created (the control-plane namespace). */
  readonly namespace: string;
  readonly issuerRef: IssuerRef;
  readonly trustDomain: string;
  readonly clock: Clock;
  /** The Secret holding the trust anchor (key ca.crt); default osm-ca-bundle in `namespace`. */
  readonly trustSecretName?: string;
  /** How often to look at a pending request. Default 100 ms. */
  readonly pollMs?: number;
  /** How long to wait for a request to be signed. Default 60 s. */
  readonly timeoutMs?: number;
  readonly keys?: KeyGenerator;
  readonly random?: RandomSource;
}

const sleep = (clock: Clock, ms: number): Promise<void> => new Promise((resolve) => clock.setTimer(resolve, ms));

/** cert-manager's usage names for a profile (the same extended key usages as a locally issued certificate). */
function usagesOf(profile: CertificateProfile, keyAlgorithm: KeyAlgorithm): string[] {
  return [
    'digital signature',
    ...(keyAlgorithm === 'ecdsa-p256' ? [] : ['key encipherment']),
    ...(profile.serverAuth ? ['server auth'] : []),
    ...(profile.clientAuth ? ['client auth'] : []),
  ];
}

/** A PKCS#10 request (PEM) with the mesh CN and the subject's SANs, signed by the certificate's own key. */
async function certificationRequest(subject: CertificateSubject, trustDomain: string, publicKeySpki: Uint8Array, privateKeyPem: string): Promise<string> {
  const profile = profileOf(subject, trustDomain);
  const { keys, signingAlgorithm } = cryptoKeyPair(createPrivateKey(privateKeyPem), createPublicKey({ key: Buffer.from(publicKeySpki), format: 'der', type: 'spki' }), 'SHA-256');
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: [commonNameOf(subject, trustDomain)] }],
    keys,
    signingAlgorithm,
    extensions: [
      new x509.SubjectAlternativeNameExtension([
        ...profile.dnsNames.map((value) => ({ type: 'dns' as const, value })),
        ...profile.uris.map((value) => ({ type: 'url' as const, value })),
        ...profile.ipAddresses.map((value) => ({ type: 'ip' as const, value })),
      ]),
    ],
  });
  return csr.toString('pem');
}

export class CertManagerAuthority implements CertificateAuthority {
  readonly rootFingerprint: string;
  readonly trustBundlePem: string;
  readonly notAfter: number;
  readonly #options: CertManagerOptions;

  constructor(options: CertManagerOptions, trustAnchor: TrustAnchor) {
    this.#options = options;
    this.rootFingerprint = trustAnchor.fingerprint;
    this.trustBundlePem = trustAnchor.certificatePem;
    this.notAfter = trustAnchor.notAfter;
  }

  async issue(request: IssueRequest): Promise<IssuedCertificate> {
    const { client, namespace, clock, trustDomain } = this.#options;
    validateSubject(request.subject, trustDomain);
    const keyAlgorithm = request.keyAlgorithm ?? DEFAULT_KEY_ALGORITHM;
    const key = await (this.#options.keys ?? nodeKeyGenerator).generate(keyAlgorithm);
    const csrPem = await certificationRequest(request.subject, trustDomain, key.publicKeySpki, key.privateKeyPem);
    const identity = identityKey(request.subject);
    const name = `osm-${createHash('sha256').update(identity).digest('hex').slice(0, 16)}-${serialHex((this.#options.random ?? nodeRandomSource).bytes(5))}`;
    await client.create({
      namespace,
      name,
      labels: { 'app.kubernetes.io/name': 'openservicemesh.io' },
      csrPem,
      durationMs: request.validityMs,
      issuerRef: this.#options.issuerRef,
      usages: usagesOf(profileOf(request.subject, this.#options.trustDomain), keyAlgorithm),
    });
    const where = `CertificateRequest ${namespace}/${name}`;
    try {
      const deadline = clock.now() + (this.#options.timeoutMs ?? 60_000);
      for (;;) {
        const state = await client.get(namespace, name);
        if (state?.failure) throw new CertificateError('IssuanceFailed', `${where} for ${identity} was not signed: ${state.failure}`);
        if (state?.ready && state.certificatePem) {
          const checked = await checkIssuedCertificate({
            certificatePem: state.certificatePem,
            ...(state.caPem ? { caPem: state.caPem } : {}),
            publicKeySpki: key.publicKeySpki,
            subject: request.subject,
            trustDomain,
            keyAlgorithm,
            trustBundlePem: this.trustBundlePem,
            now: clock.now(),
          });
          if (!checked.ok) throw new CertificateError(checked.error.code, `${where} for ${identity} returned a certificate that cannot be used: ${checked.error.message}`, { cause: checked.error });
          return {
            identity,
            subject: request.subject,
            commonName: commonNameOf(request.subject, trustDomain),
            serial: checked.value.serial,
            notBefore: checked.value.notBefore,
            notAfter: checked.value.notAfter,
            certificatePem: checked.value.chainPem,
            privateKeyPem: key.privateKeyPem,
            trustBundlePem: this.trustBundlePem,
            rootFingerprint: this.rootFingerprint,
          };
        }
        if (clock.now() >= deadline) throw new CertificateError('Timeout', `${where} for ${identity} was not signed within ${this.#options.timeoutMs ?? 60_000} ms`);
        await sleep(clock, this.#options.pollMs ?? 100);
      }
    } finally {
      await client.delete(namespace, name).catch(() => undefined);
    }
  }
}

/**
 * cert-manager as the mesh CA: the trust anchor comes from a Secret (key ca.crt; no private key is held
 * here) and every certificate is a CertificateRequest signed by the configured issuer.
 */
export class CertManagerProvider implements RootCAProvider {
  readonly kind = 'cert-manager';
  readonly #options: CertManagerOptions;

  constructor(options: CertManagerOptions) {
    this.#options = options;
  }

  async load(): Promise<Result<LoadedRoot>> {
    const { store, namespace } = this.#options;
    const name = this.#options.trustSecretName ?? CA_BUNDLE_SECRET_NAME;
    const secret = await store.get(namespace, name);
    if (!secret) return fail('NotFound', `Secret ${namespace}/${name} not found: the cert-manager provider reads the trust anchor from its key "${CA_CERT_KEY}"`);
    const cert = secret.data[CA_CERT_KEY];
    if (!cert) return fail('MissingKey', `Secret ${namespace}/${name} has no key "${CA_CERT_KEY}" (keys present: ${Object.keys(secret.data).sort().join(', ') || 'none'})`);
    const anchor = loadTrustAnchor(Buffer.from(cert).toString('utf8'), this.#options.clock.now());
    if (!anchor.ok) return fail(anchor.error.code, `Secret ${namespace}/${name}: ${anchor.error.message}`, anchor.error.cause);
    return ok({
      authority: new CertManagerAuthority(this.#options, anchor.value),
      secret: { namespace, name, ...(secret.resourceVersion ? { resourceVersion: secret.resourceVersion } : {}) },
      created: false,
      outcome: 'existing',
    });
  }
}
