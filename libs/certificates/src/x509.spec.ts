import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { countingRandom, DAY, HOUR, makeAuthority, makeRootPem, makeSigningCA, T0 } from '../test/fixtures.ts';
import { CertificateError } from './errors.ts';
import { CLOCK_SKEW_MS, createLeafTemplate } from './x509.ts';

const ecKey = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1', publicKeyEncoding: { type: 'spki', format: 'der' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });

describe('leaf certificates', () => {
  it('service certificate: CN, DNS SAN = CN, SPIFFE URI SAN, signed by the root', async () => {
    const { authority, ca } = await makeAuthority();
    const issued = authority.issueSync({ subject: { kind: 'service', serviceAccount: 'bookstore', namespace: 'shop' }, validityMs: DAY });
    const cert = new X509Certificate(issued.certificatePem);
    assert.equal(cert.subject, 'CN=bookstore.shop.cluster.local');
    assert.equal(cert.subjectAltName, 'DNS:bookstore.shop.cluster.local, URI:spiffe://cluster.local/ns/shop/sa/bookstore');
    assert.equal(cert.issuer, 'O=osm-ts tests\nCN=test-root');
    assert.equal(cert.ca, false);
    assert.ok(cert.verify(createPublicKey(ca.privateKey)));
    assert.ok(cert.checkIssued(new X509Certificate(ca.certificatePem)));
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    assert.equal(issued.commonName, 'bookstore.shop.cluster.local');
    assert.equal(issued.identity, 'service:shop/bookstore');
  });

  it('bootstrap certificate: CN <uuid>.sidecar.<sa>.<ns>.<trustDomain>', async () => {
    const { authority } = await makeAuthority({ trustDomain: 'mesh.example' });
    const issued = authority.issueSync({
      subject: { kind: 'bootstrap', proxyUuid: '0b4a5c8e-1f2a-4c3d-9e8f-7a6b5c4d3e2f', serviceAccount: 'bookbuyer', namespace: 'shop' },
      validityMs: DAY,
    });
    const cert = new X509Certificate(issued.certificatePem);
    assert.equal(cert.subject, 'CN=0b4a5c8e-1f2a-4c3d-9e8f-7a6b5c4d3e2f.sidecar.bookbuyer.shop.mesh.example');
    // OSM's xDS-client form, never the workload's URI; client auth only.
    assert.equal(cert.subjectAltName, 'DNS:0b4a5c8e-1f2a-4c3d-9e8f-7a6b5c4d3e2f.sidecar.bookbuyer.shop.mesh.example, URI:spiffe://mesh.example/0b4a5c8e-1f2a-4c3d-9e8f-7a6b5c4d3e2f/sidecar/bookbuyer/shop');
    assert.doesNotMatch(cert.subjectAltName ?? '', /\/ns\/shop\/sa\/bookbuyer/);
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.2']);
  });

  it('service certificate: DNS SAN = CN, the workload SPIFFE URI, server and client auth', async () => {
    const { authority } = await makeAuthority({ trustDomain: 'mesh.example' });
    const cert = new X509Certificate(authority.issueSync({ subject: { kind: 'service', serviceAccount: 'bookbuyer', namespace: 'shop' }, validityMs: DAY }).certificatePem);
    assert.equal(cert.subjectAltName, 'DNS:bookbuyer.shop.mesh.example, URI:spiffe://mesh.example/ns/shop/sa/bookbuyer');
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
  });

  it('server certificate: its DNS names and IP addresses, server auth only', async () => {
    const { authority } = await makeAuthority();
    const issued = authority.issueSync({ subject: { kind: 'server', dnsNames: ['osm-controller.osm-system.svc', 'localhost'], ipAddresses: ['127.0.0.1', '::1'] }, validityMs: DAY });
    const cert = new X509Certificate(issued.certificatePem);
    assert.equal(cert.subject, 'CN=osm-controller.osm-system.svc');
    assert.equal(cert.subjectAltName, 'DNS:osm-controller.osm-system.svc, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1']);
    assert.ok(cert.checkHost('localhost'));
    assert.ok(cert.checkIP('127.0.0.1'));
    assert.throws(() => authority.issueSync({ subject: { kind: 'server', dnsNames: [] }, validityMs: DAY }), /dnsNames is empty/);
    assert.throws(() => authority.issueSync({ subject: { kind: 'server', dnsNames: ['a'], ipAddresses: ['1.2.3'] }, validityMs: DAY }), /ipAddresses\[0\] "1.2.3" is not valid/);
  });

  it('private key matches the certificate and is ECDSA P-256 by default', async () => {
    const { authority } = await makeAuthority();
    const issued = authority.issueSync({ subject: { kind: 'service', serviceAccount: 'a', namespace: 'b' }, validityMs: DAY });
    const cert = new X509Certificate(issued.certificatePem);
    assert.equal(cert.publicKey.asymmetricKeyType, 'ec');
    assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.ok(cert.checkPrivateKey(createPrivateKey(issued.privateKeyPem)));
    assert.equal(cert.checkPrivateKey(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey), false);
  });

  it('RSA keys are selectable and issued through issue()', async () => {
    const { authority } = await makeAuthority();
    const issued = await authority.issue({ subject: { kind: 'service', serviceAccount: 'a', namespace: 'b' }, validityMs: DAY, keyAlgorithm: 'rsa-2048' });
    const cert = new X509Certificate(issued.certificatePem);
    assert.equal(cert.publicKey.asymmetricKeyType, 'rsa');
    assert.equal(cert.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
    assert.throws(() => authority.issueSync({ subject: { kind: 'service', serviceAccount: 'a', namespace: 'b' }, validityMs: DAY, keyAlgorithm: 'rsa-2048' }), CertificateError);
  });

  it('validity: notBefore = now - CLOCK_SKEW_MS, notAfter = now + validity (whole seconds)', async () => {
    const { authority } = await makeAuthority({ now: () => T0 + 1234 });
    const issued = authority.issueSync({ subject: { kind: 'service', serviceAccount: 'a', namespace: 'b' }, validityMs: 10 * 60_000 });
    const cert = new X509Certificate(issued.certificatePem);
    assert.equal(CLOCK_SKEW_MS, 60_000);
    assert.equal(cert.validFromDate.getTime(), T0 - 59_000);
    assert.equal(cert.validToDate.getTime(), T0 + 1000 + 10 * 60_000);
    assert.equal(issued.notBefore, T0 - 59_000);
    assert.equal(issued.notAfter, T0 + 1000 + 10 * 60_000);
  });

  it('validity: a node whose clock runs behind the root by less than the skew still issues, never before the root', async () => {
    // The root was made on a node at T0 (notBefore T0 - 1 min); these nodes run behind it.
    const root = await makeRootPem({ now: T0 });
    const at = async (now: number) => (await makeAuthority({ root, now: () => now })).authority.issueSync({ subject: { kind: 'service', serviceAccount: 'a', namespace: 'b' }, validityMs: DAY });
    assert.equal((await at(T0 - 30_000)).notBefore, T0 - 60_000);
    assert.equal((await at(T0 - 100_000)).notBefore, T0 - 60_000);
    await assert.rejects(at(T0 - 200_000), { code: 'NotYetValid' });
  });

  it('never past the root expiry', async () => {
    const root = await makeRootPem({ now: T0 - DAY, validityMs: DAY + HOUR });
    const { authority } = await makeAuthority({ root });
    const issued = authority.issueSync({ subject: { kind: 'service', serviceAccount: 'a', namespace: 'b' }, validityMs: DAY });
    assert.equal(new X509Certificate(issued.certificatePem).validToDate.getTime(), T0 + HOUR);
  });

  it('refuses to issue once the root has expired', async () => {
    const root = await makeRootPem({ now: T0 - DAY, validityMs: DAY + HOUR });
    const { authority } = await makeAuthority({ root, now: () => T0 + 2 * HOUR });
    assert.throws(() => authority.issueSync({ subject: { kind: 'service', serviceAccount: 'a', namespace: 'b' }, validityMs: DAY }), { code: 'Expired' });
  });

  it('128-bit serials, distinct per certificate, positive INTEGERs', async () => {
    const { authority } = await makeAuthority();
    const subject = { kind: 'service', serviceAccount: 'a', namespace: 'b' } as const;
    const a = authority.issueSync({ subject, validityMs: DAY });
    const b = authority.issueSync({ subject, validityMs: DAY });
    assert.notEqual(a.serial, b.serial);
    assert.equal(a.serial.length, 32);
    // X509Certificate shows the serial as hex without the sign-padding 00 byte.
    assert.equal(new X509Certificate(a.certificatePem).serialNumber.toLowerCase(), a.serial);
  });

  it('malformed names are refused with a message naming the field', async () => {
    const { authority } = await makeAuthority();
    assert.throws(() => authority.issueSync({ subject: { kind: 'service', serviceAccount: 'Bad_Name', namespace: 'b' }, validityMs: DAY }), /serviceAccount "Bad_Name" is not valid/);
    assert.throws(() => authority.issueSync({ subject: { kind: 'service', serviceAccount: 'a', namespace: 'a.b' }, validityMs: DAY }), /namespace "a.b" is not valid/);
    assert.throws(
      () => authority.issueSync({ subject: { kind: 'bootstrap', proxyUuid: 'nope', serviceAccount: 'a', namespace: 'b' }, validityMs: DAY }),
      /proxyUuid "nope" is not valid/,
    );
  });

  it('the template is deterministic: same inputs, same bytes (signature aside for ECDSA)', async () => {
    const ca = await makeSigningCA(await makeRootPem({ keyType: 'rsa' }));
    const template = createLeafTemplate(ca);
    const key = ecKey();
    const request = {
      subject: { kind: 'service', serviceAccount: 'a', namespace: 'b' },
      trustDomain: 'cluster.local',
      publicKeySpki: key.publicKey,
      keyAlgorithm: 'ecdsa-p256',
      now: T0,
      validityMs: DAY,
      serial: countingRandom().bytes(16),
    } as const;
    // RSA PKCS#1 v1.5 signatures are deterministic, so the whole certificate must be identical.
    assert.deepEqual(template.build(request).der, template.build(request).der);
    const cert = new X509Certificate(template.build(request).der);
    assert.ok(cert.verify(createPublicKey(ca.privateKey)));
  });

  it('signs with ECDSA P-384 roots using SHA-384', async () => {
    const ca = await makeSigningCA(await makeRootPem({ curve: 'secp384r1' }));
    assert.equal(ca.signature.name, 'ecdsa-with-SHA384');
    const issued = createLeafTemplate(ca).build({
      subject: { kind: 'service', serviceAccount: 'a', namespace: 'b' },
      trustDomain: 'cluster.local',
      publicKeySpki: ecKey().publicKey,
      keyAlgorithm: 'ecdsa-p256',
      now: T0,
      validityMs: DAY,
      serial: Buffer.from([1]),
    });
    assert.ok(new X509Certificate(issued.der).verify(createPublicKey(ca.privateKey)));
  });
});
