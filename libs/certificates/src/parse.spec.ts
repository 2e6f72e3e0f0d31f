import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { countingRandom, DAY, HOUR, makeAuthority, makeRootPem, T0, type RootPem } from '../test/fixtures.ts';
import { LocalCertificateAuthority } from './authority.ts';
import type { CertificateSubject } from './identity.ts';
import { nodeKeyGenerator, type GeneratedKey } from './keys.ts';
import { checkIssuedCertificate, loadSigningCA, loadTrustAnchor } from './parse.ts';
import { cryptoKeyPair, x509 } from './peculiar.ts';
import { toPem } from './pem.ts';
import { buildRootCertificate } from './root.ts';

const root = await makeRootPem();
const other = await makeRootPem();

/** A certificate with exactly the given fields, signed by `issuer` (a CA's PEM and key), made with @peculiar/x509. */
async function craft(
  issuer: RootPem,
  fields: {
    publicKeySpki: Uint8Array;
    cn: string;
    sans?: x509.JsonGeneralNames;
    eku?: string[];
    keyUsage?: x509.KeyUsageFlags;
    ca?: boolean;
    notBefore?: number;
    notAfter?: number;
  },
): Promise<string> {
  const issuerCert = new x509.X509Certificate(issuer.certificatePem);
  const privateKey = createPrivateKey(issuer.privateKeyPem);
  const { keys, signingAlgorithm } = cryptoKeyPair(privateKey, createPublicKey(privateKey), 'SHA-256');
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '0a0b0c',
    subject: [{ CN: [fields.cn] }],
    issuer: issuerCert.subjectName,
    notBefore: new Date(fields.notBefore ?? T0 - HOUR),
    notAfter: new Date(fields.notAfter ?? T0 + DAY),
    publicKey: Buffer.from(fields.publicKeySpki),
    signingKey: keys.privateKey,
    signingAlgorithm,
    extensions: [
      new x509.BasicConstraintsExtension(fields.ca ?? false, undefined, true),
      new x509.KeyUsagesExtension(fields.keyUsage ?? x509.KeyUsageFlags.digitalSignature, true),
      ...(fields.eku ? [new x509.ExtendedKeyUsageExtension(fields.eku)] : []),
      await x509.AuthorityKeyIdentifierExtension.create(issuerCert),
      ...(fields.sans ? [new x509.SubjectAlternativeNameExtension(fields.sans)] : []),
      ...(fields.ca ? [await x509.SubjectKeyIdentifierExtension.create(Buffer.from(fields.publicKeySpki))] : []),
    ],
  });
  return cert.toString('pem');
}

describe('root certificates (@peculiar/x509)', () => {
  it('are self-signed CAs with SKI, backdated for clock skew, and load back', async () => {
    const cert = new X509Certificate(root.certificatePem);
    assert.equal(cert.ca, true);
    assert.ok(cert.checkIssued(cert));
    assert.ok(cert.verify(cert.publicKey));
    assert.equal(cert.validFromDate.getTime(), T0 - HOUR - 60_000);
    const loaded = loadSigningCA(root.certificatePem, root.privateKeyPem, T0);
    assert.ok(loaded.ok);
    assert.equal(loaded.value.subjectKeyId?.length, 20);
    assert.equal(loaded.value.subject, 'O=osm-ts tests, CN=test-root');
    assert.equal(loaded.value.fingerprint, cert.fingerprint256.replace(/:/g, '').toLowerCase());
  });

  it('refuse Ed25519 keys and a zero serial', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    await assert.rejects(buildRootCertificate({ commonName: 'x', privateKey, now: T0, validityMs: DAY, serial: Buffer.from([1]) }), { code: 'UnsupportedKey' });
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    await assert.rejects(buildRootCertificate({ commonName: 'x', privateKey: ec, now: T0, validityMs: DAY, serial: Buffer.from([0, 0]) }), { code: 'InvalidArgument' });
  });

  it('toPem round-trips a certificate', () => {
    assert.equal(toPem('CERTIFICATE', new X509Certificate(root.certificatePem).raw), root.certificatePem);
  });
});

describe('loadSigningCA validation returns data', () => {
  const cases: { name: string; cert: string; key: string; now?: number; code: string; message: RegExp }[] = [
    { name: 'garbage certificate PEM', cert: 'not a certificate', key: root.privateKeyPem, code: 'InvalidCertificate', message: /^the CA certificate is not PEM/ },
    {
      name: 'PEM block that is not DER',
      cert: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
      key: root.privateKeyPem,
      code: 'InvalidCertificate',
      message: /^the CA certificate could not be parsed/,
    },
    { name: 'garbage second certificate of a bundle', cert: root.certificatePem + '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', key: root.privateKeyPem, code: 'InvalidCertificate', message: /^the CA certificate \(certificate 2 of 2\) could not be parsed/ },
    { name: 'garbage key PEM', cert: root.certificatePem, key: 'garbage', code: 'InvalidPrivateKey', message: /private key could not be parsed/ },
    { name: 'key of another root', cert: root.certificatePem, key: other.privateKeyPem, code: 'KeyMismatch', message: /does not match the certificate's public key \(certificate subject "O=osm-ts tests, CN=test-root"\)/ },
    { name: 'expired', cert: root.certificatePem, key: root.privateKeyPem, now: T0 + 400 * DAY, code: 'Expired', message: /expired at/ },
    { name: 'not yet valid', cert: root.certificatePem, key: root.privateKeyPem, now: T0 - 2 * HOUR, code: 'NotYetValid', message: /not valid yet/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const result = loadSigningCA(c.cert, c.key, c.now ?? T0);
      assert.equal(result.ok, false);
      if (result.ok) return;
      assert.equal(result.error.code, c.code);
      assert.match(result.error.message, c.message);
    });
  }

  it('a root a minute ahead of this node still loads (clock skew)', () => {
    assert.ok(loadSigningCA(root.certificatePem, root.privateKeyPem, T0 - HOUR - 90_000).ok);
  });

  it('a leaf certificate is not a CA', async () => {
    const { authority } = await makeAuthority();
    const leaf = authority.issueSync({ subject: { kind: 'service', serviceAccount: 'a', namespace: 'b' }, validityMs: DAY });
    const result = loadSigningCA(leaf.certificatePem, leaf.privateKeyPem, T0);
    assert.equal(result.ok, false);
    if (!result.ok) assert.equal(result.error.code, 'NotACertificateAuthority');
  });

  it('a CA whose keyUsage lacks keyCertSign may not sign', async () => {
    const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1', publicKeyEncoding: { type: 'spki', format: 'der' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
    const cert = await craft(root, { publicKeySpki: key.publicKey, cn: 'no-cert-sign', ca: true, keyUsage: x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.cRLSign });
    const result = loadSigningCA(cert, key.privateKey, T0);
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.error.code, 'NotACertificateAuthority');
    assert.match(result.error.message, /^the certificate "CN=no-cert-sign" may not sign certificates \(its keyUsage lacks keyCertSign\)/);
  });

  it('an Ed25519 key is refused as unsupported', () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const result = loadSigningCA(root.certificatePem, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), T0);
    assert.equal(result.ok, false);
    if (!result.ok) assert.equal(result.error.code, 'UnsupportedKey');
  });

  it('a bundle loads its first certificate and keeps all as trust anchors', () => {
    const result = loadSigningCA(root.certificatePem + other.certificatePem, root.privateKeyPem, T0);
    assert.ok(result.ok);
    assert.equal(result.value.trustBundlePem, root.certificatePem + other.certificatePem);
  });

  it('the leaf issuer is the CA subject byte for byte', async () => {
    const { authority, ca } = await makeAuthority();
    const leaf = new x509.X509Certificate(authority.issueSync({ subject: { kind: 'service', serviceAccount: 'a', namespace: 'b' }, validityMs: DAY }).certificatePem);
    assert.deepEqual(Buffer.from(leaf.issuerName.toArrayBuffer()), ca.subjectDer);
  });
});

describe('loadTrustAnchor', () => {
  it('takes a bundle of CAs, fingerprint of the first', () => {
    const result = loadTrustAnchor(root.certificatePem + other.certificatePem, T0);
    assert.ok(result.ok);
    assert.equal(result.value.certificatePem, root.certificatePem + other.certificatePem);
    assert.equal(result.value.fingerprint, new X509Certificate(root.certificatePem).fingerprint256.replace(/:/g, '').toLowerCase());
  });

  it('refuses a bundle holding a leaf', async () => {
    const { authority } = await makeAuthority({ root });
    const leaf = authority.issueSync({ subject: { kind: 'service', serviceAccount: 'a', namespace: 'b' }, validityMs: DAY });
    const result = loadTrustAnchor(root.certificatePem + leaf.certificatePem, T0);
    assert.equal(result.ok, false);
    if (!result.ok) assert.match(result.error.message, /^the certificate "CN=a\.b\.cluster\.local" is not a CA/);
  });
});

describe('checkIssuedCertificate: what a signer elsewhere (cert-manager) returns is checked before use', async () => {
  const key = (await nodeKeyGenerator.generate('ecdsa-p256')) as GeneratedKey;
  const otherKey = (await nodeKeyGenerator.generate('ecdsa-p256')) as GeneratedKey;
  const service: CertificateSubject = { kind: 'service', serviceAccount: 'bookstore', namespace: 'shop' };
  const bootstrap: CertificateSubject = { kind: 'bootstrap', proxyUuid: '0b4a5c8e-1f2a-4c3d-9e8f-7a6b5c4d3e2f', serviceAccount: 'bookbuyer', namespace: 'shop' };
  const serviceCn = 'bookstore.shop.cluster.local';
  const serviceSans: x509.JsonGeneralNames = [{ type: 'dns', value: serviceCn }, { type: 'url', value: 'spiffe://cluster.local/ns/shop/sa/bookstore' }];
  const both = [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth];
  const check = (certificatePem: string, extra: { subject?: CertificateSubject; caPem?: string; now?: number; trustBundlePem?: string } = {}) =>
    checkIssuedCertificate({
      certificatePem,
      ...(extra.caPem ? { caPem: extra.caPem } : {}),
      publicKeySpki: key.publicKeySpki,
      subject: extra.subject ?? service,
      trustDomain: 'cluster.local',
      keyAlgorithm: 'ecdsa-p256',
      trustBundlePem: extra.trustBundlePem ?? root.certificatePem,
      now: extra.now ?? T0,
    });
  const good = (fields: Partial<Parameters<typeof craft>[1]> = {}, issuer = root) => craft(issuer, { publicKeySpki: key.publicKeySpki, cn: serviceCn, sans: serviceSans, eku: both, ...fields });

  // An intermediate CA under the root, and one that has expired.
  const intermediateKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1', publicKeyEncoding: { type: 'spki', format: 'der' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  const intermediate = { certificatePem: await craft(root, { publicKeySpki: intermediateKey.publicKey, cn: 'intermediate', ca: true, keyUsage: x509.KeyUsageFlags.keyCertSign }), privateKeyPem: intermediateKey.privateKey };
  const expiredIntermediate = {
    certificatePem: await craft(root, { publicKeySpki: intermediateKey.publicKey, cn: 'intermediate', ca: true, keyUsage: x509.KeyUsageFlags.keyCertSign, notAfter: T0 - 1000 }),
    privateKeyPem: intermediateKey.privateKey,
  };

  it('accepts a certificate made for the key, with the profile, chained to the anchor', async () => {
    // The same certificate our own template makes, from the same root.
    const { ca } = await makeAuthority({ root });
    const local = new LocalCertificateAuthority({ ca, trustDomain: 'cluster.local', clock: { now: () => T0 }, random: countingRandom() }).issueWithKey({ subject: service, validityMs: DAY }, key);
    const result = await check(local.certificatePem);
    assert.ok(result.ok, result.ok ? '' : result.error.message);
    assert.equal(result.value.serial, local.serial);
    assert.equal(result.value.chainPem, local.certificatePem);
    assert.equal(result.value.notAfter, local.notAfter);
    // And a bootstrap certificate with client auth only.
    const { ca: ca2 } = await makeAuthority({ root });
    const boot = new LocalCertificateAuthority({ ca: ca2, trustDomain: 'cluster.local', clock: { now: () => T0 }, random: countingRandom() }).issueWithKey({ subject: bootstrap, validityMs: DAY }, key);
    assert.ok((await check(boot.certificatePem, { subject: bootstrap })).ok);
  });

  it('accepts a leaf under an intermediate sent in the chain or as status.ca, and hands the chain on', async () => {
    const leaf = await good({}, intermediate);
    const inChain = await check(leaf + intermediate.certificatePem);
    assert.ok(inChain.ok, inChain.ok ? '' : inChain.error.message);
    assert.equal(inChain.value.chainPem, toPem('CERTIFICATE', new X509Certificate(leaf).raw) + toPem('CERTIFICATE', new X509Certificate(intermediate.certificatePem).raw));
    assert.ok((await check(leaf, { caPem: intermediate.certificatePem })).ok);
  });

  it('accepts a notBefore a little ahead of this node (clock skew)', async () => {
    assert.ok((await check(await good({ notBefore: T0 + 30_000 }))).ok);
  });

  const refusals: { name: string; make: () => Promise<string>; subject?: CertificateSubject; caPem?: () => string; code: string; message: RegExp }[] = [
    { name: 'garbage', make: async () => 'garbage', code: 'InvalidCertificate', message: /^the issued certificate is not PEM/ },
    { name: 'a certificate for another key', make: () => good({ publicKeySpki: otherKey.publicKeySpki }), code: 'KeyMismatch', message: /is not for the key generated for this request/ },
    { name: 'a CA certificate', make: () => good({ ca: true }), code: 'InvalidCertificate', message: /is a CA certificate/ },
    { name: 'another CN', make: () => good({ cn: 'bookthief.shop.cluster.local' }), code: 'InvalidCertificate', message: /has CN bookthief\.shop\.cluster\.local, expected bookstore\.shop\.cluster\.local/ },
    { name: 'an extra DNS SAN', make: () => good({ sans: [...serviceSans, { type: 'dns', value: 'evil.example.com' }] }), code: 'InvalidCertificate', message: /has DNS SANs bookstore\.shop\.cluster\.local, evil\.example\.com, expected bookstore\.shop\.cluster\.local/ },
    { name: 'another URI SAN', make: () => good({ sans: [{ type: 'dns', value: serviceCn }, { type: 'url', value: 'spiffe://cluster.local/ns/shop/sa/admin' }] }), code: 'InvalidCertificate', message: /has URI SANs spiffe:\/\/cluster\.local\/ns\/shop\/sa\/admin, expected spiffe:\/\/cluster\.local\/ns\/shop\/sa\/bookstore/ },
    { name: 'an IP SAN nobody asked for', make: () => good({ sans: [...serviceSans, { type: 'ip', value: '10.0.0.1' }] }), code: 'InvalidCertificate', message: /has IP SANs 10\.0\.0\.1, expected none/ },
    { name: 'an email SAN', make: () => good({ sans: [...serviceSans, { type: 'email', value: 'a@b.c' }] }), code: 'InvalidCertificate', message: /has SANs that were not requested: email:a@b\.c/ },
    {
      name: 'a bootstrap certificate that could also serve',
      subject: bootstrap,
      make: () =>
        good({
          cn: '0b4a5c8e-1f2a-4c3d-9e8f-7a6b5c4d3e2f.sidecar.bookbuyer.shop.cluster.local',
          sans: [
            { type: 'dns', value: '0b4a5c8e-1f2a-4c3d-9e8f-7a6b5c4d3e2f.sidecar.bookbuyer.shop.cluster.local' },
            { type: 'url', value: 'spiffe://cluster.local/0b4a5c8e-1f2a-4c3d-9e8f-7a6b5c4d3e2f/sidecar/bookbuyer/shop' },
          ],
        }),
      code: 'InvalidCertificate',
      message: /has extended key usages serverAuth, clientAuth, expected clientAuth/,
    },
    { name: 'no extKeyUsage (any purpose)', make: () => good({ eku: undefined as unknown as string[] }), code: 'InvalidCertificate', message: /has extended key usages unrestricted \(no extKeyUsage\), expected serverAuth, clientAuth/ },
    { name: 'a key usage that signs certificates', make: () => good({ keyUsage: x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign }), code: 'InvalidCertificate', message: /may sign certificates or CRLs/ },
    { name: 'no digitalSignature', make: () => good({ keyUsage: x509.KeyUsageFlags.keyEncipherment }), code: 'InvalidCertificate', message: /lacks keyUsage digitalSignature/ },
    { name: 'expired', make: () => good({ notBefore: T0 - 2 * DAY, notAfter: T0 - 1000 }), code: 'Expired', message: /^the issued certificate "CN=bookstore\.shop\.cluster\.local" expired at/ },
    { name: 'not valid for another two minutes', make: () => good({ notBefore: T0 + 120_000 }), code: 'NotYetValid', message: /is not valid yet: notBefore/ },
    { name: 'signed by another root of the same name', make: () => good({}, other), code: 'UntrustedIssuer', message: /does not chain to the trust anchor \(issuer "O=osm-ts tests, CN=test-root"; trust anchor "O=osm-ts tests, CN=test-root"\)/ },
    { name: 'under an intermediate nobody sent', make: () => good({}, intermediate), code: 'UntrustedIssuer', message: /does not chain to the trust anchor \(issuer "CN=intermediate"/ },
    { name: 'under an expired intermediate', make: async () => (await good({}, expiredIntermediate)) + expiredIntermediate.certificatePem, code: 'Expired', message: /^the issued certificate's intermediate: the CA certificate expired at/ },
  ];
  for (const r of refusals) {
    it(`refuses ${r.name}`, async () => {
      const result = await check(await r.make(), r.subject ? { subject: r.subject } : {});
      assert.equal(result.ok, false, `${r.name} was accepted`);
      if (result.ok) return;
      assert.equal(result.error.code, r.code, result.error.message);
      assert.match(result.error.message, r.message);
    });
  }
});
