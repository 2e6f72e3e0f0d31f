// Test-only PKI: a CA that signs TLS leaves; for the local control plane, the API server's serving
// certificate, an admin client certificate (group system:masters) and the service-account signing key.
import { webcrypto } from 'node:crypto';
// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface ControlPlanePki {
  readonly caCert: string;
  readonly servingCert: string;
  readonly servingKey: string;
  readonly adminCert: string;
  readonly adminKey: string;
  readonly serviceAccountKey: string;
  readonly serviceAccountPublicKey: string;
}

function pem(label: string, der: ArrayBuffer): string {
  return x509.PemConverter.encode(der, label);
}

async function keyPair(): Promise<webcrypto.CryptoKeyPair> {
  return webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
}

function serial(): string {
  return Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '1');
}

/** A test CA on loopback: a self-signed ECDSA P-256 root and the leaf certificates it signs. */
export class TestCa {
  readonly certificatePem: string;
  readonly #ca: x509.X509Certificate;
  readonly #key: webcrypto.CryptoKey;
  readonly #notBefore: Date;
  readonly #notAfter: Date;

  private constructor(ca: x509.X509Certificate, key: webcrypto.CryptoKey, notBefore: Date, notAfter: Date) {
    this.#ca = ca;
    this.#key = key;
    this.#notBefore = notBefore;
    this.#notAfter = notAfter;
    this.certificatePem = ca.toString('pem');
  }

  /** A root valid from a minute before `now` for a week. */
  static async create(now: Date, commonName = 'osm-ts test control plane CA'): Promise<TestCa> {
    x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
    const notBefore = new Date(now.getTime() - 60_000);
    const notAfter = new Date(now.getTime() + 7 * 24 * 3600_000);
    const keys = await keyPair();
    const ca = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: `CN=${commonName}`,
      notBefore,
      notAfter,
      keys,
      signingAlgorithm: alg,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      ],
    });
    return new TestCa(ca, keys.privateKey, notBefore, notAfter);
  }

  /** A leaf for TLS server or client authentication, with subject `name` (e.g. `CN=x, O=y`) and these SANs. */
  async leaf(name: string, usage: 'server' | 'client', sans: x509.JsonGeneralNames = []): Promise<{ readonly cert: string; readonly key: string }> {
    const keys = await keyPair();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: name,
      issuer: this.#ca.subject,
      notBefore: this.#notBefore,
      notAfter: this.#notAfter,
      publicKey: keys.publicKey,
      signingKey: this.#key,
      signingAlgorithm: alg,
      extensions: [
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
        ...(sans.length ? [new x509.SubjectAlternativeNameExtension(sans)] : []),
      ],
    });
    return { cert: cert.toString('pem'), key: pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)) };
  }
}

export async function createControlPlanePki(now: Date): Promise<ControlPlanePki> {
  const ca = await TestCa.create(now);
  const serving = await ca.leaf('CN=kube-apiserver', 'server', [
    { type: 'ip', value: '127.0.0.1' },
    { type: 'dns', value: 'localhost' },
    { type: 'dns', value: 'kubernetes.default.svc' },
  ]);
  const admin = await ca.leaf('CN=osm-ts-admin, O=system:masters', 'client');
  const saKeys = await keyPair();
  return {
    caCert: ca.certificatePem,
    servingCert: serving.cert,
    servingKey: serving.key,
    adminCert: admin.cert,
    adminKey: admin.key,
    serviceAccountKey: pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', saKeys.privateKey)),
    serviceAccountPublicKey: pem('PUBLIC KEY', await webcrypto.subtle.exportKey('spki', saKeys.publicKey)),
  };
}
