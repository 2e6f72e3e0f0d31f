import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { DAY, makeRootPem, T0 } from '../test/fixtures.ts';
import { MemorySecretStore } from '../test/memory-secret-store.ts';
import { BringYourOwnProvider, TresorProvider } from './providers.ts';

const clock = { now: () => T0, setTimer: () => ({ cancel: () => undefined }) };
const subject = { kind: 'service', serviceAccount: 'a', namespace: 'b' } as const;

const [rootA, rootB, expiredRoot] = await Promise.all([makeRootPem(), makeRootPem(), makeRootPem({ now: T0 - 10 * DAY, validityMs: DAY })]);

describe('TresorProvider', () => {
  it('creates osm-ca-bundle with ca.crt, private.key and the OSM label when missing, and signs with it', async () => {
    const store = new MemorySecretStore();
    const result = await new TresorProvider({ store, namespace: 'osm-system', trustDomain: 'cluster.local', clock }).load();
    assert.ok(result.ok, result.ok ? '' : result.error.message);
    assert.equal(result.value.created, true);
    const stored = store.secrets.get('osm-system/osm-ca-bundle');
    assert.ok(stored);
    assert.deepEqual(Object.keys(stored.data).sort(), ['ca.crt', 'private.key']);
    assert.deepEqual(stored.labels, { 'app.kubernetes.io/name': 'openservicemesh.io' });
    const root = new X509Certificate(Buffer.from(stored.data['ca.crt'] ?? ''));
    assert.equal(root.ca, true);
    assert.equal(result.value.authority.rootFingerprint, root.fingerprint256.replace(/:/g, '').toLowerCase());
    const leaf = await result.value.authority.issue({ subject, validityMs: DAY });
    assert.ok(new X509Certificate(leaf.certificatePem).verify(root.publicKey));
  });

  it('uses an existing Secret without writing', async () => {
    const store = new MemorySecretStore();
    const root = await makeRootPem();
    store.put('osm-system', 'osm-ca-bundle', { 'ca.crt': root.certificatePem, 'private.key': root.privateKeyPem });
    const result = await new TresorProvider({ store, namespace: 'osm-system', trustDomain: 'cluster.local', clock }).load();
    assert.ok(result.ok);
    assert.equal(result.value.created, false);
    assert.equal(result.value.outcome, 'existing');
    assert.equal(result.value.authority.trustBundlePem, root.certificatePem);
    assert.deepEqual(store.calls, ['get osm-system/osm-ca-bundle']);
  });

  it('racing instances all end up with the one stored root', async () => {
    const store = new MemorySecretStore();
    const results = await Promise.all(
      Array.from({ length: 10 }, () => new TresorProvider({ store, namespace: 'osm-system', trustDomain: 'cluster.local', clock }).load()),
    );
    const fingerprints = new Set(results.map((r) => (r.ok ? r.value.authority.rootFingerprint : r.error.message)));
    assert.equal(fingerprints.size, 1);
    assert.equal(results.filter((r) => r.ok && r.value.created).length, 1);
    // They really raced: every instance found no Secret and tried to create one.
    assert.deepEqual(results.map((r) => (r.ok ? r.value.outcome : 'error')).sort(), ['created', ...Array.from({ length: 9 }, () => 'lost-race')]);
    assert.equal(store.secrets.size, 1);
  });

  const bad: { name: string; data: Record<string, string>; code: string; message: RegExp }[] = [
    { name: 'garbage PEM', data: { 'ca.crt': 'garbage', 'private.key': 'garbage' }, code: 'InvalidCertificate', message: /^Secret osm-system\/osm-ca-bundle: the CA certificate is not PEM/ },
    { name: 'missing private.key', data: { 'ca.crt': 'x' }, code: 'MissingKey', message: /^Secret osm-system\/osm-ca-bundle has no key "private.key" \(keys present: ca.crt\)/ },
    { name: 'mismatched key', data: { 'ca.crt': rootA.certificatePem, 'private.key': rootB.privateKeyPem }, code: 'KeyMismatch', message: /^Secret osm-system\/osm-ca-bundle: .*does not match/ },
    { name: 'expired root', data: { 'ca.crt': expiredRoot.certificatePem, 'private.key': expiredRoot.privateKeyPem }, code: 'Expired', message: /^Secret osm-system\/osm-ca-bundle: the CA certificate expired/ },
  ];
  for (const c of bad) {
    it(`an existing invalid Secret (${c.name}) is reported and never replaced`, async () => {
      const store = new MemorySecretStore();
      store.put('osm-system', 'osm-ca-bundle', c.data);
      const before = store.secrets.get('osm-system/osm-ca-bundle');
      const result = await new TresorProvider({ store, namespace: 'osm-system', trustDomain: 'cluster.local', clock }).load();
      assert.equal(result.ok, false);
      if (result.ok) return;
      assert.equal(result.error.code, c.code);
      assert.match(result.error.message, c.message);
      assert.equal(store.secrets.get('osm-system/osm-ca-bundle'), before);
      assert.deepEqual(store.calls, ['get osm-system/osm-ca-bundle']);
    });
  }
});

describe('BringYourOwnProvider', () => {
  it('loads the named Secret', async () => {
    const store = new MemorySecretStore();
    const root = await makeRootPem();
    store.put('osm-system', 'my-ca', { 'tls.crt': root.certificatePem, 'tls.key': root.privateKeyPem });
    const result = await new BringYourOwnProvider({
      store,
      namespace: 'osm-system',
      secretName: 'my-ca',
      secretKeys: { certificate: 'tls.crt', privateKey: 'tls.key' },
      trustDomain: 'cluster.local',
      clock,
    }).load();
    assert.ok(result.ok);
    assert.equal(result.value.secret.name, 'my-ca');
    assert.equal(result.value.authority.trustBundlePem, root.certificatePem);
  });

  it('a missing Secret is reported by name and nothing is created', async () => {
    const store = new MemorySecretStore();
    const result = await new BringYourOwnProvider({ store, namespace: 'osm-system', secretName: 'my-ca', trustDomain: 'cluster.local', clock }).load();
    assert.equal(result.ok, false);
    if (!result.ok) assert.match(result.error.message, /^Secret osm-system\/my-ca not found/);
    assert.equal(store.secrets.size, 0);
  });
});
