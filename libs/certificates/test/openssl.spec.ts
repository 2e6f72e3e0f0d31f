// Issued certificates checked by the real openssl: chain verification and the decoded fields.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LocalCertificateAuthority } from '../src/authority.ts';
import { loadSigningCA } from '../src/parse.ts';
import { x509 } from '../src/peculiar.ts';
import { countingRandom, DAY, makeAuthority, makeRootPem, T0 } from './fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'osm-certs-openssl-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function file(content: string): string {
  const path = join(dir, `f${n++}.pem`);
  writeFileSync(path, content);
  return path;
}

const atTime = String(Math.floor(T0 / 1000) + 60);

function opensslVerify(rootPem: string, leafPem: string, purpose: string): { status: number | null; output: string } {
  const r = spawnSync('openssl', ['verify', '-x509_strict', '-attime', atTime, '-purpose', purpose, '-CAfile', file(rootPem), file(leafPem)], { encoding: 'utf8' });
  return { status: r.status, output: r.stdout + r.stderr };
}

const x509Text = (pem: string): string => execFileSync('openssl', ['x509', '-noout', '-text', '-in', file(pem)], { encoding: 'utf8' });

describe('openssl', async () => {
  const root = await makeRootPem();
  const { authority } = await makeAuthority({ root });
  const service = authority.issueSync({ subject: { kind: 'service', serviceAccount: 'bookstore', namespace: 'bookstore-ns' }, validityMs: DAY });
  const bootstrap = authority.issueSync({
    subject: { kind: 'bootstrap', proxyUuid: '6b1f7a2c-3d4e-4f5a-8b9c-0d1e2f3a4b5c', serviceAccount: 'bookbuyer', namespace: 'bookbuyer-ns' },
    validityMs: DAY,
  });

  // The service certificate serves and dials mTLS; the bootstrap certificate is an xDS client only.
  for (const [name, cert, purpose] of [
    ['service', service, 'sslserver'],
    ['service', service, 'sslclient'],
    ['bootstrap', bootstrap, 'sslclient'],
  ] as const) {
    it(`verifies the ${name} certificate against the root (purpose ${purpose})`, () => {
      const r = opensslVerify(root.certificatePem, cert.certificatePem, purpose);
      assert.equal(r.status, 0, r.output);
      assert.match(r.output, /: OK/);
    });
  }

  it('refuses the bootstrap certificate as a TLS server certificate', () => {
    const r = opensslVerify(root.certificatePem, bootstrap.certificatePem, 'sslserver');
    assert.notEqual(r.status, 0);
    assert.match(r.output, /unsuitable certificate purpose/);
  });

  it('refuses a certificate against another root', async () => {
    const r = opensslVerify((await makeRootPem()).certificatePem, service.certificatePem, 'sslserver');
    assert.notEqual(r.status, 0);
    assert.match(r.output, /unable to get local issuer certificate|certificate signature failure/);
  });

  it('refuses a certificate after it expired', () => {
    const r = spawnSync('openssl', ['verify', '-attime', String(Math.floor((T0 + 2 * DAY) / 1000)), '-CAfile', file(root.certificatePem), file(service.certificatePem)], { encoding: 'utf8' });
    assert.notEqual(r.status, 0);
    assert.match(r.stdout + r.stderr, /certificate has expired/);
  });

  it('x509 -text shows CN, SANs, key usages, EKUs, key and validity of a service certificate', () => {
    const text = x509Text(service.certificatePem);
    assert.match(text, /Version: 3 \(0x2\)/);
    assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
    assert.match(text, /Subject: CN ?= ?bookstore\.bookstore-ns\.cluster\.local\n/);
    assert.match(text, /Issuer: O ?= ?osm-ts tests, CN ?= ?test-root/);
    assert.match(text, /X509v3 Subject Alternative Name: ?\n\s+DNS:bookstore\.bookstore-ns\.cluster\.local, URI:spiffe:\/\/cluster\.local\/ns\/bookstore-ns\/sa\/bookstore\n/);
    assert.match(text, /X509v3 Key Usage: critical\n\s+Digital Signature\n/);
    assert.match(text, /X509v3 Extended Key Usage: ?\n\s+TLS Web Server Authentication, TLS Web Client Authentication\n/);
    assert.match(text, /X509v3 Basic Constraints: critical\n\s+CA:FALSE/);
    assert.match(text, /X509v3 Authority Key Identifier/);
    assert.match(text, /Public Key Algorithm: id-ecPublicKey[\s\S]*NIST CURVE: P-256/);
    // Backdated by CLOCK_SKEW_MS (one minute) for peers whose clocks run behind.
    assert.match(text, /Not Before: Jan {2}1 11:59:00 2026 GMT/);
    assert.match(text, /Not After : Jan {2}2 12:00:00 2026 GMT/);
    const serial = /Serial Number:\s*\n?\s*([0-9a-f:]+)/.exec(text)?.[1]?.replace(/:/g, '');
    assert.equal(serial?.replace(/^00/, ''), service.serial);
  });

  it('x509 -text shows the bootstrap CN', () => {
    assert.match(x509Text(bootstrap.certificatePem), /Subject: CN ?= ?6b1f7a2c-3d4e-4f5a-8b9c-0d1e2f3a4b5c\.sidecar\.bookbuyer\.bookbuyer-ns\.cluster\.local\n/);
  });

  it('RSA leaf: key encipherment added, RSA 2048 key, verifies', async () => {
    const rsa = await authority.issue({ subject: { kind: 'service', serviceAccount: 'a', namespace: 'b' }, validityMs: DAY, keyAlgorithm: 'rsa-2048' });
    const text = x509Text(rsa.certificatePem);
    assert.match(text, /X509v3 Key Usage: critical\n\s+Digital Signature, Key Encipherment\n/);
    assert.match(text, /Public-Key: \(2048 bit\)/);
    assert.equal(opensslVerify(root.certificatePem, rsa.certificatePem, 'sslserver').status, 0);
  });

  it('an RSA root signs with sha256WithRSAEncryption, and openssl verifies it', async () => {
    const rsaRoot = await makeRootPem({ keyType: 'rsa' });
    const leaf = (await makeAuthority({ root: rsaRoot })).authority.issueSync({ subject: { kind: 'service', serviceAccount: 'a', namespace: 'b' }, validityMs: DAY });
    assert.match(x509Text(leaf.certificatePem), /Signature Algorithm: sha256WithRSAEncryption/);
    assert.equal(opensslVerify(rsaRoot.certificatePem, leaf.certificatePem, 'sslclient').status, 0);
  });

  it('the root: CA:TRUE, Certificate Sign and CRL Sign, self-signed and accepted as a trust anchor', () => {
    const text = x509Text(root.certificatePem);
    assert.match(text, /X509v3 Basic Constraints: critical\n\s+CA:TRUE/);
    assert.match(text, /X509v3 Key Usage: critical\n\s+Certificate Sign, CRL Sign\n/);
    assert.match(text, /X509v3 Subject Key Identifier/);
    assert.equal(opensslVerify(root.certificatePem, root.certificatePem, 'any').status, 0);
  });

  it('the private key openssl reads is the certificate key', () => {
    const fromKey = execFileSync('openssl', ['pkey', '-pubout', '-in', file(service.privateKeyPem)], { encoding: 'utf8' });
    const fromCert = execFileSync('openssl', ['x509', '-noout', '-pubkey', '-in', file(service.certificatePem)], { encoding: 'utf8' });
    assert.equal(fromKey, fromCert);
  });

  it('a bring-your-own root made by openssl (UTF8String names, P-384): loaded, its subject is the leaves\' issuer byte for byte, openssl verifies them', () => {
    const key = file('');
    execFileSync('openssl', ['ecparam', '-name', 'secp384r1', '-genkey', '-noout', '-out', key]);
    const pkcs8 = execFileSync('openssl', ['pkcs8', '-topk8', '-nocrypt', '-in', key], { encoding: 'utf8' });
    const rootPem = execFileSync(
      'openssl',
      ['req', '-x509', '-new', '-key', key, '-utf8', '-subj', '/C=DE/O=Bücher GmbH/CN=Bring your own root', '-days', '3650', '-set_serial', '7', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
      { encoding: 'utf8' },
    );
    const now = Date.now();
    const loaded = loadSigningCA(rootPem, pkcs8, now);
    assert.ok(loaded.ok, loaded.ok ? '' : loaded.error.message);
    assert.equal(loaded.value.signature.name, 'ecdsa-with-SHA384');
    const leaf = new LocalCertificateAuthority({ ca: loaded.value, trustDomain: 'cluster.local', clock: { now: () => now }, random: countingRandom() }).issueSync({
      subject: { kind: 'service', serviceAccount: 'a', namespace: 'b' },
      validityMs: DAY,
    });
    assert.deepEqual(Buffer.from(new x509.X509Certificate(leaf.certificatePem).issuerName.toArrayBuffer()), Buffer.from(new x509.X509Certificate(rootPem).subjectName.toArrayBuffer()));
    const r = spawnSync('openssl', ['verify', '-x509_strict', '-CAfile', file(rootPem), file(leaf.certificatePem)], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(x509Text(leaf.certificatePem), /Issuer: C ?= ?DE, O ?= ?B\\C3\\BCcher GmbH, CN ?= ?Bring your own root/);
  });
});
