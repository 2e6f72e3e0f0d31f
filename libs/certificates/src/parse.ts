// Certificates that come from outside, parsed and checked with @peculiar/x509: a CA read from a Secret
// (Tresor's stored root, a bring-your-own CA, cert-manager's trust anchor) and a leaf that cert-manager
// returns. Validation returns data: every refusal is `{ ok: false, error }` with a message saying what
// was wrong.
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { fail, ok, type CertificateErrorCode, type Result } from './errors.ts';
import { commonNameOf, ipAddressBytes, profileOf, type CertificateSubject } from './identity.ts';
import { x509 } from './peculiar.ts';
import { pemBlocks, toPem } from './pem.ts';
import { CLOCK_SKEW_MS, signatureSchemeFor, type KeyAlgorithm, type SigningCA } from './x509.ts';

const sha256Hex = (der: Uint8Array): string => createHash('sha256').update(der).digest('hex');
const spkiOf = (key: KeyObject): Buffer => createPublicKey(key).export({ type: 'spki', format: 'der' });
const iso = (ms: number): string => new Date(ms).toISOString();

interface Parsed {
  readonly der: Buffer;
  readonly cert: x509.X509Certificate;
}

/** Every CERTIFICATE block of `pem`, parsed; `what` names the field in messages ("the CA certificate"). */
function parseCertificates(pem: string, what: string): Result<[Parsed, ...Parsed[]]> {
  const blocks = pemBlocks(pem).filter((b) => b.label === 'CERTIFICATE');
  if (blocks.length === 0) return fail('InvalidCertificate', `${what} is not PEM: no "-----BEGIN CERTIFICATE-----" block found`);
  const out: Parsed[] = [];
  for (const [i, block] of blocks.entries()) {
    try {
      const cert = new x509.X509Certificate(block.der);
      // Touch the lazily decoded parts so that a malformed extension is refused here, not later.
      void cert.extensions;
      void cert.publicKey;
      out.push({ der: block.der, cert });
    } catch (err) {
      return fail('InvalidCertificate', `${what}${blocks.length > 1 ? ` (certificate ${i + 1} of ${blocks.length})` : ''} could not be parsed: ${(err as Error).message}`, err);
    }
  }
  return ok(out as [Parsed, ...Parsed[]]);
}

/** How certificates are named in messages. */
const nameOf = (cert: x509.X509Certificate): string => `"${cert.subject}"`;

/** A CA certificate may sign or anchor trust only if it is a CA allowed to sign certificates and valid at `now` (give or take the clock skew). */
function checkCaUsable(cert: x509.X509Certificate, now: number): Result<true> {
  if (!cert.getExtension(x509.BasicConstraintsExtension)?.ca) {
    return fail('NotACertificateAuthority', `the certificate ${nameOf(cert)} is not a CA (basicConstraints CA:TRUE is missing)`);
  }
  const keyUsage = cert.getExtension(x509.KeyUsagesExtension);
  if (keyUsage && !(keyUsage.usages & x509.KeyUsageFlags.keyCertSign)) {
    return fail('NotACertificateAuthority', `the certificate ${nameOf(cert)} may not sign certificates (its keyUsage lacks keyCertSign)`);
  }
  return checkValidity(cert, now, 'the CA certificate');
}

function checkValidity(cert: x509.X509Certificate, now: number, what: string): Result<true> {
  const notBefore = cert.notBefore.getTime();
  const notAfter = cert.notAfter.getTime();
  if (now + CLOCK_SKEW_MS < notBefore) return fail('NotYetValid', `${what} is not valid yet: notBefore ${iso(notBefore)} is after now (${iso(now)})`);
  if (now >= notAfter) return fail('Expired', `${what} expired at ${iso(notAfter)} (now ${iso(now)})`);
  return ok(true);
}

/**
 * Validates a CA certificate and private key as stored (PEM), at time `now`. Garbage PEM, a key that does
 * not match the certificate, a certificate that is expired, not yet valid, not a CA or not allowed to
 * sign certificates each give `{ ok: false, error }` with a message saying which.
 */
export function loadSigningCA(certificatePem: string, privateKeyPem: string, now: number): Result<SigningCA> {
  const parsed = parseCertificates(certificatePem, 'the CA certificate');
  if (!parsed.ok) return parsed;
  const [{ der, cert }] = parsed.value;
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
  if (!spkiOf(privateKey).equals(Buffer.from(cert.publicKey.rawData))) {
    return fail('KeyMismatch', `the CA private key does not match the certificate's public key (certificate subject ${nameOf(cert)})`);
  }
  const usable = checkCaUsable(cert, now);
  if (!usable.ok) return usable;
  // Leaves carry the CA's subject as their issuer byte for byte; the re-encoded name must be what the certificate holds.
  const subjectDer = Buffer.from(cert.subjectName.toArrayBuffer());
  if (!der.includes(subjectDer)) return fail('InvalidCertificate', `the CA certificate's subject ${nameOf(cert)} is not in canonical DER form`);
  const subjectKeyId = cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  return ok({
    certificateDer: der,
    certificatePem: toPem('CERTIFICATE', der),
    trustBundlePem: parsed.value.map((p) => toPem('CERTIFICATE', p.der)).join(''),
    subjectDer,
    subject: cert.subject,
    subjectKeyId: subjectKeyId ? Buffer.from(subjectKeyId, 'hex') : undefined,
    privateKey,
    signature,
    notBefore: cert.notBefore.getTime(),
    notAfter: cert.notAfter.getTime(),
    fingerprint: sha256Hex(der),
  });
}

/** A trust anchor as the cert-manager provider holds it (no private key). */
export interface TrustAnchor {
  /** Every certificate of the bundle, PEM. */
  readonly certificatePem: string;
  /** SHA-256 of the first certificate's DER, lowercase hex. */
  readonly fingerprint: string;
  readonly notAfter: number;
}

/** Validates a trust anchor without its key: PEM, CAs allowed to sign certificates, the first valid at `now`. */
export function loadTrustAnchor(certificatePem: string, now: number): Result<TrustAnchor> {
  const parsed = parseCertificates(certificatePem, 'the CA certificate');
  if (!parsed.ok) return parsed;
  for (const { cert } of parsed.value) {
    const usable = checkCaUsable(cert, now);
    if (!usable.ok) return usable;
  }
  const [first] = parsed.value;
  return ok({
    certificatePem: parsed.value.map((p) => toPem('CERTIFICATE', p.der)).join(''),
    fingerprint: sha256Hex(first.der),
    notAfter: first.cert.notAfter.getTime(),
  });
}

/** SHA-256 of a certificate's DER (first PEM block), lowercase hex; undefined if not PEM. */
export function fingerprintOf(certificatePem: string): string | undefined {
  const first = pemBlocks(certificatePem).find((b) => b.label === 'CERTIFICATE');
  return first ? sha256Hex(first.der) : undefined;
}

/** What a certificate signed elsewhere (cert-manager) must be. */
export interface IssuedCertificateCheck {
  /** The signer's answer: the leaf first, then any intermediates. */
  readonly certificatePem: string;
  /** The issuing CA the signer reported (cert-manager's status.ca), if any: a candidate intermediate, never trusted by itself. */
  readonly caPem?: string;
  /** SubjectPublicKeyInfo DER of the key generated for the request. */
  readonly publicKeySpki: Uint8Array;
  readonly subject: CertificateSubject;
  readonly trustDomain: string;
  readonly keyAlgorithm: KeyAlgorithm;
  /** The roots the leaf must chain to. */
  readonly trustBundlePem: string;
  readonly now: number;
}

export interface CheckedCertificate {
  /** The leaf and the intermediates up to (not including) the trust anchor, PEM: what a peer needs to build the path. */
  readonly chainPem: string;
  /** The serial number, lowercase hex without sign padding. */
  readonly serial: string;
  readonly notBefore: number;
  readonly notAfter: number;
}

const EKU_NAMES: Readonly<Record<string, string>> = { [x509.ExtendedKeyUsage.serverAuth]: 'serverAuth', [x509.ExtendedKeyUsage.clientAuth]: 'clientAuth' };
const list = (values: readonly string[]): string => (values.length ? values.join(', ') : 'none');
const sameSet = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');
const ipKey = (ip: string): string => ipAddressBytes(ip)?.toString('hex') ?? `invalid:${ip}`;

/**
 * Checks a certificate that was signed elsewhere before it is used: it is for the key we generated, it
 * is not a CA, its CN, SANs and extended key usages are exactly what the subject's profile asks for (no
 * more: a bootstrap certificate that could also serve, or one with an extra SAN, is refused), it is valid
 * now (give or take the clock skew), and it chains through valid CAs to one of the trust anchors, every
 * signature verified. Each refusal names what was wrong.
 */
export async function checkIssuedCertificate(check: IssuedCertificateCheck): Promise<Result<CheckedCertificate>> {
  const parsed = parseCertificates(check.certificatePem, 'the issued certificate');
  if (!parsed.ok) return parsed;
  const [leaf, ...rest] = parsed.value;
  const cert = leaf.cert;
  const wrong = (code: CertificateErrorCode, message: string): Result<CheckedCertificate> => fail(code, `the issued certificate ${nameOf(cert)} ${message}`);

  if (!Buffer.from(cert.publicKey.rawData).equals(Buffer.from(check.publicKeySpki))) return wrong('KeyMismatch', 'is not for the key generated for this request');
  if (cert.getExtension(x509.BasicConstraintsExtension)?.ca) return wrong('InvalidCertificate', 'is a CA certificate (basicConstraints CA:TRUE)');

  const commonName = commonNameOf(check.subject, check.trustDomain);
  const commonNames = cert.subjectName.getField('CN');
  if (commonNames.length !== 1 || commonNames[0] !== commonName) return wrong('InvalidCertificate', `has CN ${list(commonNames)}, expected ${commonName}`);

  const profile = profileOf(check.subject, check.trustDomain);
  const names = cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? [];
  const ofType = (type: string): string[] => names.filter((n) => n.type === type).map((n) => n.value);
  const others = names.filter((n) => !['dns', 'url', 'ip'].includes(n.type)).map((n) => `${n.type}:${n.value}`);
  if (!sameSet(ofType('dns'), profile.dnsNames)) return wrong('InvalidCertificate', `has DNS SANs ${list(ofType('dns'))}, expected ${list(profile.dnsNames)}`);
  if (!sameSet(ofType('url'), profile.uris)) return wrong('InvalidCertificate', `has URI SANs ${list(ofType('url'))}, expected ${list(profile.uris)}`);
  if (!sameSet(ofType('ip').map(ipKey), profile.ipAddresses.map(ipKey))) return wrong('InvalidCertificate', `has IP SANs ${list(ofType('ip'))}, expected ${list(profile.ipAddresses)}`);
  if (others.length) return wrong('InvalidCertificate', `has SANs that were not requested: ${list(others)}`);

  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages.map(String);
  const wantedEku = [...(profile.serverAuth ? [x509.ExtendedKeyUsage.serverAuth] : []), ...(profile.clientAuth ? [x509.ExtendedKeyUsage.clientAuth] : [])];
  if (!eku || !sameSet(eku, wantedEku)) {
    const shown = (usages: readonly string[]): string => list(usages.map((u) => EKU_NAMES[u] ?? u));
    return wrong('InvalidCertificate', `has extended key usages ${eku ? shown(eku) : 'unrestricted (no extKeyUsage)'}, expected ${shown(wantedEku)}`);
  }
  const keyUsage = cert.getExtension(x509.KeyUsagesExtension)?.usages ?? 0;
  if (!(keyUsage & x509.KeyUsageFlags.digitalSignature)) return wrong('InvalidCertificate', 'lacks keyUsage digitalSignature');
  if (keyUsage & (x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign)) return wrong('InvalidCertificate', 'may sign certificates or CRLs (keyUsage keyCertSign or cRLSign)');
  if (check.keyAlgorithm !== 'ecdsa-p256' && !(keyUsage & x509.KeyUsageFlags.keyEncipherment)) return wrong('InvalidCertificate', 'lacks keyUsage keyEncipherment, which an RSA key needs');

  const valid = checkValidity(cert, check.now, `the issued certificate ${nameOf(cert)}`);
  if (!valid.ok) return valid;

  const anchors = parseCertificates(check.trustBundlePem, 'the trust anchor');
  if (!anchors.ok) return anchors;
  // status.ca is optional and informational: a candidate intermediate when it parses, ignored when it does not.
  const issuing = check.caPem ? parseCertificates(check.caPem, 'the issuing CA') : undefined;
  const candidates = [...rest, ...(issuing?.ok ? issuing.value : [])];
  const anchorDer = anchors.value.map((a) => a.der);
  // The chain builder follows issuer names and key identifiers and adds an issuer only if its key verifies the signature.
  const chain = await new x509.X509ChainBuilder({ certificates: [...candidates, ...anchors.value].map((p) => p.cert) }).build(cert);
  const anchorAt = chain.findIndex((c, i) => i > 0 && anchorDer.some((d) => d.equals(Buffer.from(c.rawData))));
  if (anchorAt < 0) {
    return wrong('UntrustedIssuer', `does not chain to the trust anchor (issuer "${cert.issuer}"; trust anchor ${anchors.value.map((a) => nameOf(a.cert)).join(', ')})`);
  }
  for (const intermediate of chain.slice(1, anchorAt)) {
    const usable = checkCaUsable(intermediate, check.now);
    if (!usable.ok) return fail(usable.error.code, `the issued certificate's intermediate: ${usable.error.message}`);
  }
  return ok({
    chainPem: chain
      .slice(0, anchorAt)
      .map((c) => toPem('CERTIFICATE', new Uint8Array(c.rawData)))
      .join(''),
    serial: cert.serialNumber.toLowerCase(),
    notBefore: cert.notBefore.getTime(),
    notAfter: cert.notAfter.getTime(),
  });
}
