// The precomputed DER template (the leaf hot path) checked field by field by an independent parser,
// @peculiar/x509: version, serial, signature algorithm (inside and outside the TBSCertificate), issuer,
// validity, subject, key, and every extension with its criticality, in order and nothing else, for each
// subject kind, each leaf key algorithm and each kind of signing root.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { countingRandom, DAY, makeRootPem, makeSigningCA, T0 } from '../test/fixtures.ts';
import { LocalCertificateAuthority } from './authority.ts';
import type { CertificateSubject } from './identity.ts';
import { nodeKeyGenerator, type GeneratedKey } from './keys.ts';
import { x509 } from './peculiar.ts';
import { CLOCK_SKEW_MS, KEY_ALGORITHMS, type KeyAlgorithm } from './x509.ts';

const NOW = T0 + 1234;
const TD = 'mesh.example';
const uuid = '0b4a5c8e-1f2a-4c3d-9e8f-7a6b5c4d3e2f';

const roots = [
  { name: 'ECDSA P-256 root', pem: await makeRootPem(), signature: 'ecdsaWithSHA256', algorithm: { name: 'ECDSA', hash: { name: 'SHA-256' } } },
  { name: 'ECDSA P-384 root', pem: await makeRootPem({ curve: 'secp384r1' }), signature: 'ecdsaWithSHA384', algorithm: { name: 'ECDSA', hash: { name: 'SHA-384' } } },
  { name: 'RSA root', pem: await makeRootPem({ keyType: 'rsa' }), signature: 'sha256WithRSAEncryption', algorithm: { name: 'RSASSA-PKCS1-v1_5', hash: { name: 'SHA-256' } } },
];

const keys = new Map<KeyAlgorithm, GeneratedKey>();
for (const algorithm of KEY_ALGORITHMS) keys.set(algorithm, await nodeKeyGenerator.generate(algorithm));

const subjects: { subject: CertificateSubject; cn: string; names: x509.JsonGeneralNames; eku: string[] }[] = [
  {
    subject: { kind: 'service', serviceAccount: 'bookstore', namespace: 'shop' },
    cn: 'bookstore.shop.mesh.example',
    names: [{ type: 'dns', value: 'bookstore.shop.mesh.example' }, { type: 'url', value: 'spiffe://mesh.example/ns/shop/sa/bookstore' }],
    eku: [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
  },
  {
    subject: { kind: 'bootstrap', proxyUuid: uuid, serviceAccount: 'bookbuyer', namespace: 'shop' },
    cn: `${uuid}.sidecar.bookbuyer.shop.mesh.example`,
    names: [{ type: 'dns', value: `${uuid}.sidecar.bookbuyer.shop.mesh.example` }, { type: 'url', value: `spiffe://mesh.example/${uuid}/sidecar/bookbuyer/shop` }],
    eku: [x509.ExtendedKeyUsage.clientAuth],
  },
  {
    subject: { kind: 'server', dnsNames: ['osm-controller.osm-system.svc', 'localhost'], ipAddresses: ['127.0.0.1', '::1'] },
    cn: 'osm-controller.osm-system.svc',
    names: [
      { type: 'dns', value: 'osm-controller.osm-system.svc' },
      { type: 'dns', value: 'localhost' },
      { type: 'ip', value: '127.0.0.1' },
      { type: 'ip', value: '::1' },
    ],
    eku: [x509.ExtendedKeyUsage.serverAuth],
  },
];

/** An extension as comparable data: its OID, criticality and decoded value. */
function describeExtension(e: x509.Extension): unknown {
  const base = { type: e.type, critical: e.critical };
  if (e instanceof x509.BasicConstraintsExtension) return { ...base, ca: e.ca, pathLength: e.pathLength };
  if (e instanceof x509.KeyUsagesExtension) return { ...base, usages: e.usages };
  if (e instanceof x509.ExtendedKeyUsageExtension) return { ...base, usages: [...e.usages] };
  if (e instanceof x509.AuthorityKeyIdentifierExtension) return { ...base, keyId: e.keyId, certId: e.certId };
  if (e instanceof x509.SubjectAlternativeNameExtension) return { ...base, names: e.names.toJSON() };
  return { ...base, unexpected: Buffer.from(e.value).toString('hex') };
}

const textValue = (node: unknown): unknown => (node as Record<symbol, unknown>)[x509.TextObject.VALUE];

describe('leaf certificates parsed by @peculiar/x509: every field', () => {
  for (const root of roots) {
    const rootCert = new x509.X509Certificate(root.pem.certificatePem);
    const rootKeyId = rootCert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
    for (const { subject, cn, names, eku } of subjects) {
      for (const keyAlgorithm of KEY_ALGORITHMS) {
        it(`${root.name}, ${subject.kind} certificate, ${keyAlgorithm} key`, async () => {
          const key = keys.get(keyAlgorithm);
          assert.ok(key && rootKeyId);
          const authority = new LocalCertificateAuthority({ ca: await makeSigningCA(root.pem), trustDomain: TD, clock: { now: () => NOW }, random: countingRandom() });
          const issued = authority.issueWithKey({ subject, validityMs: DAY, keyAlgorithm }, key);
          const cert = new x509.X509Certificate(issued.certificatePem);
          const text = cert.toTextObject() as unknown as { Data: Record<string, unknown>; Signature: Record<string, unknown> };

          assert.equal(text.Data['Version'], 'v3 (2)');
          // countingRandom's first 16 bytes: 9c 00 .. 00 01 (high bit set: a 00 pad byte keeps the INTEGER positive).
          assert.equal(cert.serialNumber, '9c000000000000000000000000000001');
          assert.equal(issued.serial, '9c000000000000000000000000000001');
          assert.equal(textValue(text.Data['Signature Algorithm']), root.signature, 'TBSCertificate.signature');
          assert.equal(textValue(text.Signature['Algorithm']), root.signature, 'Certificate.signatureAlgorithm');
          assert.deepEqual(cert.signatureAlgorithm, root.algorithm);
          assert.equal(await cert.verify({ publicKey: rootCert, signatureOnly: true }), true, 'signed by the root');

          assert.equal(cert.issuer, rootCert.subject);
          assert.deepEqual(Buffer.from(cert.issuerName.toArrayBuffer()), Buffer.from(rootCert.subjectName.toArrayBuffer()));
          assert.equal(cert.notBefore.getTime(), Math.floor((NOW - CLOCK_SKEW_MS) / 1000) * 1000);
          assert.equal(cert.notAfter.getTime(), Math.floor((NOW + DAY) / 1000) * 1000);
          assert.deepEqual(cert.subjectName.toJSON(), [{ CN: [cn] }]);

          assert.deepEqual(Buffer.from(cert.publicKey.rawData), Buffer.from(key.publicKeySpki));
          const expectedKey = keyAlgorithm === 'ecdsa-p256' ? { name: 'ECDSA', namedCurve: 'P-256' } : { name: 'RSASSA-PKCS1-v1_5', modulusLength: Number(keyAlgorithm.slice(4)) };
          assert.deepEqual({ name: cert.publicKey.algorithm.name, ...('namedCurve' in cert.publicKey.algorithm ? { namedCurve: cert.publicKey.algorithm.namedCurve } : { modulusLength: (cert.publicKey.algorithm as { modulusLength?: number }).modulusLength }) }, expectedKey);

          const F = x509.KeyUsageFlags;
          assert.deepEqual([...cert.extensions].map(describeExtension), [
            { type: '2.5.29.19', critical: true, ca: false, pathLength: undefined },
            { type: '2.5.29.15', critical: true, usages: keyAlgorithm === 'ecdsa-p256' ? F.digitalSignature : F.digitalSignature | F.keyEncipherment },
            { type: '2.5.29.37', critical: false, usages: eku },
            { type: '2.5.29.35', critical: false, keyId: rootKeyId, certId: undefined },
            { type: '2.5.29.17', critical: false, names },
          ]);
        });
      }
    }
  }
});
