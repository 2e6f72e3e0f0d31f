import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { systemClock } from '@osm/clock';
import { FakeClock, opensslSignCsr } from '@osm/testing';
import { DAY, makeRootPem, T0 } from '../test/fixtures.ts';
import { MemorySecretStore } from '../test/memory-secret-store.ts';
import { CertManagerProvider, type CertificateRequestClient, type CertificateRequestSpec, type CertificateRequestState } from './cert-manager.ts';

const dir = mkdtempSync(join(tmpdir(), 'osm-cm-spec-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** An in-memory CertificateRequest API; `sign` decides what happens to a request on its second look. */
class FakeRequests implements CertificateRequestClient {
  readonly created: CertificateRequestSpec[] = [];
  readonly deleted: string[] = [];
  readonly #looks = new Map<string, number>();
  readonly #sign: (spec: CertificateRequestSpec) => CertificateRequestState | undefined;

  constructor(sign: (spec: CertificateRequestSpec) => CertificateRequestState | undefined) {
    this.#sign = sign;
  }

  async create(request: CertificateRequestSpec): Promise<void> {
    this.created.push(request);
  }

  async get(namespace: string, name: string): Promise<CertificateRequestState | undefined> {
    const spec = this.created.find((r) => r.namespace === namespace && r.name === name);
    if (!spec) return undefined;
    const looks = (this.#looks.get(name) ?? 0) + 1;
    this.#looks.set(name, looks);
    return looks < 2 ? { ready: false } : (this.#sign(spec) ?? { ready: false });
  }

  async delete(namespace: string, name: string): Promise<void> {
    this.deleted.push(`${namespace}/${name}`);
  }
}

function setup(sign: (spec: CertificateRequestSpec) => CertificateRequestState | undefined, clock = systemClock) {
  const store = new MemorySecretStore();
  const client = new FakeRequests(sign);
  const provider = new CertManagerProvider({ client, store, namespace: 'osm-system', issuerRef: { name: 'osm-ca' }, trustDomain: 'cluster.local', clock, pollMs: 5, timeoutMs: 1000 });
  return { store, client, provider };
}

const subject = { kind: 'service', serviceAccount: 'bookstore', namespace: 'shop' } as const;

describe('CertManagerProvider', async () => {
  const root = await makeRootPem({ now: Date.now() - 3_600_000 });

  it('requests a certificate through a CertificateRequest and returns it once signed', async () => {
    const { store, client, provider } = setup((spec) => ({ ready: true, certificatePem: opensslSignCsr(spec.csrPem, root, spec.usages), caPem: root.certificatePem }));
    store.put('osm-system', 'osm-ca-bundle', { 'ca.crt': root.certificatePem });
    const loaded = await provider.load();
    assert.ok(loaded.ok, loaded.ok ? '' : loaded.error.message);
    const issued = await loaded.value.authority.issue({ subject, validityMs: DAY });
    const spec = client.created[0];
    assert.ok(spec);
    assert.equal(spec.namespace, 'osm-system');
    assert.equal(spec.durationMs, DAY);
    assert.deepEqual(spec.issuerRef, { name: 'osm-ca' });
    assert.deepEqual(spec.usages, ['digital signature', 'server auth', 'client auth']);
    assert.deepEqual(client.deleted, [`osm-system/${spec.name}`], 'the request is cleaned up');
    const cert = new X509Certificate(issued.certificatePem);
    assert.equal(cert.subject, 'CN=bookstore.shop.cluster.local');
    assert.equal(cert.subjectAltName, 'DNS:bookstore.shop.cluster.local, URI:spiffe://cluster.local/ns/shop/sa/bookstore');
    assert.equal(issued.serial, cert.serialNumber.toLowerCase());
    assert.equal(issued.trustBundlePem, root.certificatePem);
    const files = ['ca', 'leaf', 'key'].map((n, i) => {
      const p = join(dir, `${n}.pem`);
      writeFileSync(p, [root.certificatePem, issued.certificatePem, issued.privateKeyPem][i] ?? '');
      return p;
    });
    const verify = spawnSync('openssl', ['verify', '-CAfile', files[0] ?? '', files[1] ?? ''], { encoding: 'utf8' });
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
    assert.ok(cert.checkPrivateKey((await import('node:crypto')).createPrivateKey(issued.privateKeyPem)));
  });

  it('a returned certificate that does not check out is refused, naming the request and what was wrong', async () => {
    const otherRoot = await makeRootPem({ now: Date.now() - 3_600_000 });
    const cases: { sign: (spec: CertificateRequestSpec) => string; code: string; message: RegExp }[] = [
      // Signed by a CA that is not the trust anchor.
      { sign: (spec) => opensslSignCsr(spec.csrPem, otherRoot, spec.usages), code: 'UntrustedIssuer', message: /does not chain to the trust anchor/ },
      // Signed with usages the bootstrap profile does not allow (cert-manager honours whatever it is asked).
      { sign: (spec) => opensslSignCsr(spec.csrPem, root, [...spec.usages, 'server auth']), code: 'InvalidCertificate', message: /has extended key usages clientAuth, serverAuth, expected clientAuth/ },
    ];
    for (const c of cases) {
      const { store, client, provider } = setup((spec) => ({ ready: true, certificatePem: c.sign(spec), caPem: root.certificatePem }));
      store.put('osm-system', 'osm-ca-bundle', { 'ca.crt': root.certificatePem });
      const loaded = await provider.load();
      assert.ok(loaded.ok);
      const bootstrap = { kind: 'bootstrap', proxyUuid: '0b4a5c8e-1f2a-4c3d-9e8f-7a6b5c4d3e2f', serviceAccount: 'bookbuyer', namespace: 'shop' } as const;
      await assert.rejects(loaded.value.authority.issue({ subject: bootstrap, validityMs: DAY }), (err: Error & { code?: string }) => {
        assert.equal(err.code, c.code);
        assert.match(err.message, /^CertificateRequest osm-system\/osm-[0-9a-f]{16}-[0-9a-f]{10} for bootstrap:shop\/bookbuyer\/0b4a5c8e-1f2a-4c3d-9e8f-7a6b5c4d3e2f returned a certificate that cannot be used: the issued certificate "CN=0b4a5c8e-1f2a-4c3d-9e8f-7a6b5c4d3e2f\.sidecar\.bookbuyer\.shop\.cluster\.local" /);
        assert.match(err.message, c.message);
        return true;
      });
      assert.equal(client.deleted.length, 1, 'the request is cleaned up');
    }
  });

  it('a failed request is an IssuanceFailed error naming the CertificateRequest', async () => {
    const { store, client, provider } = setup(() => ({ ready: false, failure: 'Denied: not allowed' }));
    store.put('osm-system', 'osm-ca-bundle', { 'ca.crt': root.certificatePem });
    const loaded = await provider.load();
    assert.ok(loaded.ok);
    await assert.rejects(loaded.value.authority.issue({ subject, validityMs: DAY }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'IssuanceFailed');
      assert.match(err.message, /^CertificateRequest osm-system\/osm-[0-9a-f]{16}-[0-9a-f]{10} for service:shop\/bookstore was not signed: Denied: not allowed$/);
      return true;
    });
    assert.equal(client.deleted.length, 1);
  });

  it('a request nobody signs times out', async () => {
    const clock = new FakeClock(T0);
    const { store, provider } = setup(() => undefined, clock);
    store.put('osm-system', 'osm-ca-bundle', { 'ca.crt': (await makeRootPem()).certificatePem });
    const loaded = await provider.load();
    assert.ok(loaded.ok);
    const pending = loaded.value.authority.issue({ subject, validityMs: DAY });
    let settled = false;
    const outcome = assert.rejects(pending, { code: 'Timeout' }).finally(() => (settled = true));
    for (let i = 0; i < 100 && !settled; i++) await clock.advance(100);
    await outcome;
    assert.ok(clock.now() - T0 >= 1000, 'gave up only after timeoutMs');
  });

  it('the trust anchor Secret is validated: missing, not a CA', async () => {
    const { store, provider } = setup(() => undefined);
    const missing = await provider.load();
    assert.equal(missing.ok, false);
    if (!missing.ok) assert.match(missing.error.message, /^Secret osm-system\/osm-ca-bundle not found/);
    store.put('osm-system', 'osm-ca-bundle', { 'ca.crt': 'garbage' });
    const garbage = await provider.load();
    assert.equal(garbage.ok, false);
    if (!garbage.ok) assert.equal(garbage.error.code, 'InvalidCertificate');
  });
});
