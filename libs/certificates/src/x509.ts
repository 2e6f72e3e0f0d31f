// The leaf hot path: X.509 leaf certificates built from plain values (keys, serial bytes, time) with a
// precomputed DER template per signing CA, so that only serial, validity, subject, SANs and the public
// key are encoded per certificate (B4). Everything else (the root, the CSR, parsing certificates from
// outside) uses @peculiar/x509: see root.ts, parse.ts and cert-manager.ts. No clock, no randomness, no I/O.
import { sign, type KeyObject } from 'node:crypto';
import * as der from './der.ts';
import { CertificateError } from './errors.ts';
import { commonNameOf, ipAddressBytes, profileOf, validateSubject, type CertificateProfile, type CertificateSubject } from './identity.ts';
import { toPem } from './pem.ts';

export type KeyAlgorithm = 'ecdsa-p256' | 'rsa-2048' | 'rsa-3072' | 'rsa-4096';
export const KEY_ALGORITHMS: readonly KeyAlgorithm[] = ['ecdsa-p256', 'rsa-2048', 'rsa-3072', 'rsa-4096'];
export const DEFAULT_KEY_ALGORITHM: KeyAlgorithm = 'ecdsa-p256';

export function isKeyAlgorithm(value: string): value is KeyAlgorithm {
  return (KEY_ALGORITHMS as readonly string[]).includes(value);
}

/**
 * How far a leaf's (and a generated root's) notBefore is set back from the issuing node's clock, so that
 * a peer whose clock runs a little behind already accepts it. OSM's Tresor used notBefore = now
 * (pkg/certificate/providers/tresor/certificate_manager.go), which a node a second behind refuses.
 * One minute covers NTP-synchronised nodes many times over and costs nothing in exposure.
 */
export const CLOCK_SKEW_MS = 60_000;

const OID = {
  commonName: '2.5.4.3',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
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

/** Name ::= SEQUENCE OF RDN with the one attribute commonName (UTF8String). */
const commonNameDer = (value: string): Buffer => der.sequence(der.set(der.sequence(der.oid(OID.commonName), der.utf8String(value))));

const extension = (oidDotted: string, critical: boolean, value: Buffer): Buffer =>
  critical ? der.sequence(der.oid(oidDotted), der.boolean(true), der.octetString(value)) : der.sequence(der.oid(oidDotted), der.octetString(value));

// KeyUsage bits: digitalSignature (0), keyEncipherment (2), keyCertSign (5), cRLSign (6).
const keyUsageLeafEc = extension(OID.keyUsage, true, der.bitString(Buffer.from([0x80]), 7));
const keyUsageLeafRsa = extension(OID.keyUsage, true, der.bitString(Buffer.from([0xa0]), 5));
const basicConstraintsLeaf = extension(OID.basicConstraints, true, der.sequence());
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
      if (request.now + CLOCK_SKEW_MS < ca.notBefore || request.now >= ca.notAfter) {
        throw new CertificateError(request.now >= ca.notAfter ? 'Expired' : 'NotYetValid', `the signing CA ${ca.subject} is not valid at ${new Date(request.now).toISOString()}`);
      }
      // Backdated for clock skew between nodes, but never before the CA itself.
      const notBefore = Math.max(Math.floor((request.now - CLOCK_SKEW_MS) / 1000) * 1000, ca.notBefore);
      const notAfter = Math.min(Math.floor((request.now + request.validityMs) / 1000) * 1000, caNotAfterSeconds);
      const commonName = commonNameOf(request.subject, request.trustDomain);
      const serial = request.serial[0] === 0 && request.serial.every((b) => b === 0) ? Buffer.from([1]) : request.serial;
      const profile = profileOf(request.subject, request.trustDomain);
      const tbs = der.sequence(
        head,
        der.unsignedInteger(serial),
        signatureAndIssuer,
        der.sequence(der.x509Time(notBefore), der.x509Time(notAfter)),
        commonNameDer(commonName),
        request.publicKeySpki,
        der.explicit(3, der.sequence(fixedFor(request.keyAlgorithm, profile), subjectAltName(profile))),
      );
      const certificate = signCertificate(tbs, ca.signature, ca.privateKey);
      return { der: certificate, pem: toPem('CERTIFICATE', certificate), commonName, serial: serialHex(serial), notBefore, notAfter };
    },
  };
}

