// The pure issuance core: X.509 certificates built from plain values (keys, serial bytes, time),
// with a precomputed DER template per signing CA so that only serial, validity, subject, SANs and
// the public key are encoded per certificate. No clock, no randomness, no I/O.
import { createHash, createPrivateKey, createPublicKey, sign, X509Certificate, type KeyObject } from 'node:crypto';
import * as der from './der.ts';
import { CertificateError, fail, ok, type Result } from './errors.ts';
import { commonNameOf, ipAddressBytes, profileOf, validateSubject, type CertificateProfile, type CertificateSubject } from './identity.ts';
import { pemBlocks, toPem } from './pem.ts';

export type KeyAlgorithm = 'ecdsa-p256' | 'rsa-2048' | 'rsa-3072' | 'rsa-4096';
export const KEY_ALGORITHMS: readonly KeyAlgorithm[] = ['ecdsa-p256', 'rsa-2048', 'rsa-3072', 'rsa-4096'];
export const DEFAULT_KEY_ALGORITHM: KeyAlgorithm = 'ecdsa-p256';

export function isKeyAlgorithm(value: string): value is KeyAlgorithm {
  return (KEY_ALGORITHMS as readonly string[]).includes(value);
}

const OID = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyId: '2.5.29.14',
  authorityKeyId: '2.5.29.35',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  ecdsaSha256: '1.2.840.10045.4.3.2',
  ecdsaSha384: '1.2.840.10045.4.3.3',
  ecdsaSha512: '1.2.840.10045.4.3.4',
  rsaSha256: '1.2.840.113549.1.1.11',
} as const;

/** How a CA key signs: the AlgorithmIdentifier that goes into certificates and the digest to use. */
export interface SignatureScheme {
  readonly name: 'ecdsa-with-SHA256' | 'ecdsa-with-SHA384' | 'ecdsa-with-SHA512' | 'sha256WithRSAEncryption';
  readonly hash: 'sha256' | 'sha384' | 'sha512';
  readonly algorithmIdentifier: Buffer;
}

/** The signature scheme for a CA private key, or undefined for key types we do not sign with. */
export function signatureSchemeFor(key: KeyObject): SignatureScheme | undefined {
  if (key.asymmetricKeyType === 'rsa') {
    return { name: 'sha256WithRSAEncryption', hash: 'sha256', algorithmIdentifier: der.sequence(der.oid(OID.rsaSha256), der.nullValue()) };
  }
  if (key.asymmetricKeyType === 'ec') {
    switch (key.asymmetricKeyDetails?.namedCurve) {
      case 'prime256v1':
        return { name: 'ecdsa-with-SHA256', hash: 'sha256', algorithmIdentifier: der.sequence(der.oid(OID.ecdsaSha256)) };
      case 'secp384r1':
        return { name: 'ecdsa-with-SHA384', hash: 'sha384', algorithmIdentifier: der.sequence(der.oid(OID.ecdsaSha384)) };
      case 'secp521r1':
        return { name: 'ecdsa-with-SHA512', hash: 'sha512', algorithmIdentifier: der.sequence(der.oid(OID.ecdsaSha512)) };
      default:
        return undefined;
    }
  }
  return undefined;
}

/** A loaded, validated CA that can sign certificates. Shared and read-only. */
export interface SigningCA {
  readonly certificateDer: Buffer;
  readonly certificatePem: string;
  /** Every certificate of the CA bundle (the signing CA first), to hand to peers as trust anchors. */
  readonly trustBundlePem: string;
  readonly subjectDer: Buffer;
  readonly subject: string;
  readonly subjectKeyId: Buffer | undefined;
  readonly privateKey: KeyObject;
  readonly signature: SignatureScheme;
  readonly notBefore: number;
  readonly notAfter: number;
  /** SHA-256 of the certificate DER, lowercase hex. */
  readonly fingerprint: string;
}

/** Name ::= SEQUENCE OF RDN; one attribute per RDN, UTF8String values. */
export function encodeName(attributes: readonly { readonly oid: string; readonly value: string }[]): Buffer {
  return der.sequence(...attributes.map((a) => der.set(der.sequence(der.oid(a.oid), der.utf8String(a.value)))));
}

const extension = (oidDotted: string, critical: boolean, value: Buffer): Buffer =>
  critical ? der.sequence(der.oid(oidDotted), der.boolean(true), der.octetString(value)) : der.sequence(der.oid(oidDotted), der.octetString(value));

// KeyUsage bits: digitalSignature (0), keyEncipherment (2), keyCertSign (5), cRLSign (6).
const keyUsageLeafEc = extension(OID.keyUsage, true, der.bitString(Buffer.from([0x80]), 7));
const keyUsageLeafRsa = extension(OID.keyUsage, true, der.bitString(Buffer.from([0xa0]), 5));
const keyUsageCa = extension(OID.keyUsage, true, der.bitString(Buffer.from([0x86]), 1));
const basicConstraintsLeaf = extension(OID.basicConstraints, true, der.sequence());
const basicConstraintsCa = extension(OID.basicConstraints, true, der.sequence(der.boolean(true)));
const extKeyUsage = (profile: CertificateProfile): Buffer =>
  extension(OID.extKeyUsage, false, der.sequence(...(profile.serverAuth ? [der.oid(OID.serverAuth)] : []), ...(profile.clientAuth ? [der.oid(OID.clientAuth)] : [])));

/** subjectAltName: dNSName [2], uniformResourceIdentifier [6], iPAddress [7]. */
function subjectAltName(profile: CertificateProfile): Buffer {
  return extension(
    OID.subjectAltName,
    false,
    der.sequence(
      ...profile.dnsNames.map((n) => der.implicitPrimitive(2, Buffer.from(n, 'ascii'))),
      ...profile.uris.map((u) => der.implicitPrimitive(6, Buffer.from(u, 'ascii'))),
      ...profile.ipAddresses.map((ip) => der.implicitPrimitive(7, ipAddressBytes(ip) ?? Buffer.alloc(0))),
    ),
  );
}
const version3 = der.explicit(0, der.smallInteger(2));

/** SHA-1 of the subjectPublicKey bits (RFC 5280 4.2.1.2 method 1). */
export function keyIdentifier(spki: Uint8Array): Buffer {
  const root = der.readElement(spki, 0);
  const [, bits] = der.children(spki, root);
  if (!bits || bits.tag !== 0x03) throw new RangeError('SubjectPublicKeyInfo without a BIT STRING');
  return createHash('sha1').update(spki.subarray(bits.contentStart + 1, bits.end)).digest();
}

export function serialHex(serial: Uint8Array): string {
  return Buffer.from(serial.buffer, serial.byteOffset, serial.byteLength).toString('hex');
}

function signCertificate(tbs: Buffer, scheme: SignatureScheme, key: KeyObject): Buffer {
  const signature = sign(scheme.hash, tbs, key);
  return der.sequence(tbs, scheme.algorithmIdentifier, der.bitString(signature));
}

/** What one leaf certificate is made of; everything that varies comes in as a value. */
export interface LeafRequest {
  readonly subject: CertificateSubject;
  readonly trustDomain: string;
  /** SubjectPublicKeyInfo DER of the certificate's key. */
  readonly publicKeySpki: Uint8Array;
  readonly keyAlgorithm: KeyAlgorithm;
  /** Epoch milliseconds. */
  readonly now: number;
  readonly validityMs: number;
  /** Random serial bytes (16 for 128 bits); encoded as a positive INTEGER. */
  readonly serial: Uint8Array;
}

export interface LeafCertificate {
  readonly der: Buffer;
  readonly pem: string;
  readonly commonName: string;
  readonly serial: string;
  readonly notBefore: number;
  readonly notAfter: number;
}

/** Builds leaf certificates for one signing CA; the constant parts of the TBSCertificate are encoded once. */
export interface LeafTemplate {
  build(request: LeafRequest): LeafCertificate;
}

export function createLeafTemplate(ca: SigningCA): LeafTemplate {
  // TBSCertificate ::= SEQUENCE { version, serial, signature, issuer, validity, subject, spki, [3] extensions }
  const head = version3;
  const signatureAndIssuer = Buffer.concat([ca.signature.algorithmIdentifier, ca.subjectDer]);
  const authorityKeyId = ca.subjectKeyId ? extension(OID.authorityKeyId, false, der.sequence(der.implicitPrimitive(0, ca.subjectKeyId))) : Buffer.alloc(0);
  // The constant extensions by key type and extended key usage (few combinations: encoded once each).
  const fixed = new Map<string, Buffer>();
  const fixedFor = (keyAlgorithm: KeyAlgorithm, profile: CertificateProfile): Buffer => {
    const key = `${keyAlgorithm === 'ecdsa-p256'}|${profile.serverAuth}|${profile.clientAuth}`;
    let parts = fixed.get(key);
    if (!parts) {
      parts = Buffer.concat([basicConstraintsLeaf, keyAlgorithm === 'ecdsa-p256' ? keyUsageLeafEc : keyUsageLeafRsa, extKeyUsage(profile), authorityKeyId]);
      fixed.set(key, parts);
    }
    return parts;
  };
  const caNotAfterSeconds = Math.floor(ca.notAfter / 1000) * 1000;

  return {
    build(request: LeafRequest): LeafCertificate {
      validateSubject(request.subject, request.trustDomain);
      if (!(request.validityMs > 0)) throw new CertificateError('InvalidArgument', `validityMs ${request.validityMs} must be positive`);
      if (request.serial.length === 0 || request.serial.length > 20) {
        throw new CertificateError('InvalidArgument', `serial must be 1 to 20 bytes, got ${request.serial.length}`);
      }
      const notBefore = Math.floor(request.now / 1000) * 1000;
      if (notBefore < ca.notBefore || notBefore >= ca.notAfter) {
        throw new CertificateError(notBefore < ca.notBefore ? 'NotYetValid' : 'Expired', `the signing CA ${ca.subject} is not valid at ${new Date(notBefore).toISOString()}`);
      }
      const notAfter = Math.min(Math.floor((request.now + request.validityMs) / 1000) * 1000, caNotAfterSeconds);
      const commonName = commonNameOf(request.subject, request.trustDomain);
      const serial = request.serial[0] === 0 && request.serial.every((b) => b === 0) ? Buffer.from([1]) : request.serial;
      const profile = profileOf(request.subject, request.trustDomain);
      const tbs = der.sequence(
        head,
        der.unsignedInteger(serial),
        signatureAndIssuer,
        der.sequence(der.x509Time(notBefore), der.x509Time(notAfter)),
        encodeName([{ oid: OID.commonName, value: commonName }]),
        request.publicKeySpki,
        der.explicit(3, der.sequence(fixedFor(request.keyAlgorithm, profile), subjectAltName(profile))),
      );
      const certificate = signCertificate(tbs, ca.signature, ca.privateKey);
      return { der: certificate, pem: toPem('CERTIFICATE', certificate), commonName, serial: serialHex(serial), notBefore, notAfter };
    },
  };
}

/** What a self-signed root is made of. */
export interface RootRequest {
  readonly commonName: string;
  readonly organization?: string;
  readonly privateKey: KeyObject;
  readonly now: number;
  readonly validityMs: number;
  readonly serial: Uint8Array;
}

/** A self-signed CA certificate (basicConstraints CA:TRUE, keyCertSign and cRLSign, SKI), as DER. */
export function buildRootCertificate(request: RootRequest): Buffer {
  const scheme = signatureSchemeFor(request.privateKey);
  if (!scheme) throw new CertificateError('UnsupportedKey', 'root keys must be ECDSA (P-256, P-384, P-521) or RSA');
  const spki = createPublicKey(request.privateKey).export({ type: 'spki', format: 'der' });
  const name = encodeName([
    ...(request.organization ? [{ oid: OID.organization, value: request.organization }] : []),
    { oid: OID.commonName, value: request.commonName },
  ]);
  const notBefore = Math.floor(request.now / 1000) * 1000;
  const notAfter = Math.floor((request.now + request.validityMs) / 1000) * 1000;
  const tbs = der.sequence(
    version3,
    der.unsignedInteger(request.serial),
    scheme.algorithmIdentifier,
    name,
    der.sequence(der.x509Time(notBefore), der.x509Time(notAfter)),
    name,
    spki,
    der.explicit(3, der.sequence(basicConstraintsCa, keyUsageCa, extension(OID.subjectKeyId, false, der.octetString(keyIdentifier(spki))))),
  );
  return signCertificate(tbs, scheme, request.privateKey);
}

/** The issuer-side fields of a certificate that X509Certificate does not expose: subject DER and SKI. */
function parseTbsFields(certDer: Uint8Array): { subjectDer: Buffer; subjectKeyId: Buffer | undefined } {
  const cert = der.readElement(certDer, 0);
  const [tbs] = der.children(certDer, cert);
  if (!tbs) throw new RangeError('certificate without TBSCertificate');
  const fields = der.children(certDer, tbs);
  const offset = fields[0]?.tag === 0xa0 ? 1 : 0;
  const subject = fields[offset + 4];
  if (!subject) throw new RangeError('TBSCertificate without subject');
  let subjectKeyId: Buffer | undefined;
  const extensionsWrapper = fields.find((f) => f.tag === 0xa3);
  if (extensionsWrapper) {
    const [list] = der.children(certDer, extensionsWrapper);
    for (const ext of list ? der.children(certDer, list) : []) {
      const parts = der.children(certDer, ext);
      const id = parts[0];
      const value = parts[parts.length - 1];
      if (id && value && der.decodeOid(certDer, id) === OID.subjectKeyId) {
        const inner = der.readElement(certDer, value.contentStart, value.end);
        subjectKeyId = Buffer.from(certDer.subarray(inner.contentStart, inner.end));
      }
    }
  }
  return { subjectDer: Buffer.from(certDer.subarray(subject.start, subject.end)), subjectKeyId };
}

/** The CERTIFICATE blocks of a CA bundle and its first certificate, parsed. */
function parseCaPem(certificatePem: string): Result<{ blocks: { der: Buffer }[]; first: { der: Buffer }; cert: X509Certificate }> {
  const blocks = pemBlocks(certificatePem).filter((b) => b.label === 'CERTIFICATE');
  const first = blocks[0];
  if (!first) return fail('InvalidCertificate', 'the CA certificate is not PEM: no "-----BEGIN CERTIFICATE-----" block found');
  try {
    return ok({ blocks, first, cert: new X509Certificate(first.der) });
  } catch (err) {
    return fail('InvalidCertificate', `the CA certificate could not be parsed: ${(err as Error).message}`, err);
  }
}

/** A CA certificate may sign or anchor trust only if it is a CA and valid at `now`. */
function checkCaUsable(cert: X509Certificate, now: number): Result<true> {
  if (!cert.ca) return fail('NotACertificateAuthority', `the certificate "${cert.subject.replace(/\n/g, ', ')}" is not a CA (basicConstraints CA:TRUE is missing)`);
  if (now < cert.validFromDate.getTime()) return fail('NotYetValid', `the CA certificate is not valid yet: notBefore ${cert.validFromDate.toISOString()} is after now (${new Date(now).toISOString()})`);
  if (now >= cert.validToDate.getTime()) return fail('Expired', `the CA certificate expired at ${cert.validToDate.toISOString()} (now ${new Date(now).toISOString()})`);
  return ok(true);
}

/**
 * Validates a CA certificate and private key as stored (PEM), at time `now`. Returns data, never throws:
 * garbage PEM, a key that does not match the certificate, a certificate that is expired or not yet valid,
 * or one that is not a CA each give `{ ok: false, error }` with a message saying which.
 */
export function loadSigningCA(certificatePem: string, privateKeyPem: string, now: number): Result<SigningCA> {
  const parsed = parseCaPem(certificatePem);
  if (!parsed.ok) return parsed;
  const { blocks, first, cert } = parsed.value;
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(privateKeyPem);
  } catch (err) {
    return fail('InvalidPrivateKey', `the CA private key could not be parsed (expected a PEM PKCS#8, SEC1 or PKCS#1 key): ${(err as Error).message}`, err);
  }
  const signature = signatureSchemeFor(privateKey);
  if (!signature) {
    return fail('UnsupportedKey', `the CA private key is ${privateKey.asymmetricKeyType ?? 'unknown'}${privateKey.asymmetricKeyDetails?.namedCurve ? ` (${privateKey.asymmetricKeyDetails.namedCurve})` : ''}: allowed are ECDSA P-256, P-384, P-521 and RSA`);
  }
  if (!cert.checkPrivateKey(privateKey)) return fail('KeyMismatch', `the CA private key does not match the certificate's public key (certificate subject "${cert.subject.replace(/\n/g, ', ')}")`);
  const usable = checkCaUsable(cert, now);
  if (!usable.ok) return usable;
  const notBefore = cert.validFromDate.getTime();
  const notAfter = cert.validToDate.getTime();
  let tbs: { subjectDer: Buffer; subjectKeyId: Buffer | undefined };
  try {
    tbs = parseTbsFields(first.der);
  } catch (err) {
    return fail('InvalidCertificate', `the CA certificate's DER could not be read: ${(err as Error).message}`, err);
  }
  return ok({
    certificateDer: first.der,
    certificatePem: toPem('CERTIFICATE', first.der),
    trustBundlePem: blocks.map((b) => toPem('CERTIFICATE', b.der)).join(''),
    subjectDer: tbs.subjectDer,
    subject: cert.subject.replace(/\n/g, ', '),
    subjectKeyId: tbs.subjectKeyId,
    privateKey,
    signature,
    notBefore,
    notAfter,
    fingerprint: createHash('sha256').update(first.der).digest('hex'),
  });
}

/** SHA-256 of a certificate's DER (first PEM block), lowercase hex; undefined if not PEM. */
export function fingerprintOf(certificatePem: string): string | undefined {
  const first = pemBlocks(certificatePem).find((b) => b.label === 'CERTIFICATE');
  return first ? createHash('sha256').update(first.der).digest('hex') : undefined;
}

/** What a PKCS#10 certification request for a mesh identity is made of. */
export interface CsrRequest {
  readonly subject: CertificateSubject;
  readonly trustDomain: string;
  readonly publicKeySpki: Uint8Array;
  /** The key that signs the request (the certificate's own private key). */
  readonly privateKey: KeyObject;
}

/** A PKCS#10 CSR (RFC 2986) with the mesh CN and the subject's SANs (profileOf) requested as extensions. */
export function buildCertificationRequest(request: CsrRequest): Buffer {
  validateSubject(request.subject, request.trustDomain);
  const scheme = signatureSchemeFor(request.privateKey);
  if (!scheme) throw new CertificateError('UnsupportedKey', 'CSR keys must be ECDSA or RSA');
  const commonName = commonNameOf(request.subject, request.trustDomain);
  const extensionRequest = der.sequence(der.oid('1.2.840.113549.1.9.14'), der.set(der.sequence(subjectAltName(profileOf(request.subject, request.trustDomain)))));
  const info = der.sequence(der.smallInteger(0), encodeName([{ oid: OID.commonName, value: commonName }]), request.publicKeySpki, der.explicit(0, extensionRequest));
  return der.sequence(info, scheme.algorithmIdentifier, der.bitString(sign(scheme.hash, info, request.privateKey)));
}

/**
 * Validates a trust anchor without its key (the cert-manager provider holds no private key): PEM, a CA,
 * valid at `now`.
 */
export function loadTrustAnchor(certificatePem: string, now: number): Result<{ readonly certificatePem: string; readonly fingerprint: string; readonly notAfter: number }> {
  const parsed = parseCaPem(certificatePem);
  if (!parsed.ok) return parsed;
  const { blocks, first, cert } = parsed.value;
  const usable = checkCaUsable(cert, now);
  if (!usable.ok) return usable;
  return ok({
    certificatePem: blocks.map((b) => toPem('CERTIFICATE', b.der)).join(''),
    fingerprint: createHash('sha256').update(first.der).digest('hex'),
    notAfter: cert.validToDate.getTime(),
  });
}
