// ca-bootstrap as real processes against a real kube-apiserver: the creation race, restarts, bad input,
// issued certificates checked by openssl, and rotation.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { ApiextensionsV1Api, CoreV1Api, CustomObjectsApi, type V1Secret } from '@kubernetes/client-node';
import { CertificateCache, CertManagerProvider, CLOCK_SKEW_MS, generateRootCA, LocalCertificateAuthority, signingCAFromSecret, TresorProvider, type RotationEvent } from '@osm/certificates';
import { systemClock } from '@osm/clock';
import { startKubeApiServer, type KubeApiServer } from '@osm/testing';
import { KubeCertificateRequestClient, KubeSecretStore } from '@osm/k8s-writes';
import { applyManifests, readManifests } from '../src/kube.ts';
import { BootstrapProcess } from './process.ts';
import { GATE_LABEL, RaceGate } from './race-gate.ts';
import { TestSigner } from './test-signer.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const tmp = mkdtempSync(join(tmpdir(), 'osm-ca-bootstrap-test-'));
let fileCount = 0;
const file = (content: string): string => {
  const path = join(tmp, `f${fileCount++}.pem`);
  writeFileSync(path, content);
  return path;
};

let api: KubeApiServer;
let core: CoreV1Api;
const gate = new RaceGate();
const running: BootstrapProcess[] = [];

function start(namespace: string, ...args: string[]): BootstrapProcess {
  const p = new BootstrapProcess(api.kubeconfigPath, ['--osm-namespace', namespace, ...args]);
  running.push(p);
  return p;
}

async function createNamespace(name: string, labels: Record<string, string> = {}): Promise<void> {
  await core.createNamespace({ body: { metadata: { name, labels } } });
}

const readSecret = (namespace: string, name = 'osm-ca-bundle'): Promise<V1Secret> => core.readNamespacedSecret({ namespace, name });

/** A root CA as PEM, valid from `now` (less the clock-skew allowance) for `validityMs`. */
const makeRoot = async (commonName: string, now: number, validityMs: number): Promise<{ cert: string; key: string }> => {
  const root = await generateRootCA({ clock: { now: () => now }, commonName, validityMs });
  return { cert: root.certificatePem, key: root.privateKeyPem };
};
const userRoot = await makeRoot('user-root', Date.now() - HOUR, 365 * DAY);
const issuerRoot = await makeRoot('cert-manager-test-issuer', Date.now() - HOUR, DAY);
const otherRoot = await makeRoot('other', Date.now() - HOUR, DAY);

before(async () => {
  // No CRDs installed: the first ca-bootstrap processes must apply them.
  api = await startKubeApiServer({ installCrds: false });
  core = api.kubeConfig.makeApiClient(CoreV1Api);
  // The race gate's webhook configuration is live once a probe Secret's CREATE reaches it.
  await gate.start(api.kubeConfig);
  await createNamespace('gate-probe', { [GATE_LABEL]: 'true' });
  for (let i = 0; !gate.saw('gate-probe'); i++) {
    if (i > 300) throw new Error('the race gate webhook was never called');
    await core.createNamespacedSecret({ namespace: 'gate-probe', body: { metadata: { name: `probe-${i}` } } });
    if (!gate.saw('gate-probe')) await new Promise((resolve) => setTimeout(resolve, 100));
  }
});

after(async () => {
  await gate.stop();
  await Promise.all(running.map((p) => p.stop()));
  await api?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe('ca-bootstrap against a real API server', () => {
  it('10 processes started at once, 20 rounds: they really race (one wins the create, some lose it), one osm-ca-bundle and one root fingerprint each round', async (t) => {
    const outcomes = new Map<string, number>();
    for (let round = 1; round <= 20; round++) {
      const namespace = `race-${round}`;
      // The gate holds the Secret CREATEs until all 10 processes are inside theirs (or 20 s passed), so whoever
      // reads the Secret meanwhile races for real.
      await createNamespace(namespace, { [GATE_LABEL]: 'true' });
      gate.expect(namespace, 10);
      const processes = Array.from({ length: 10 }, () => start(namespace));
      // Generous: ten processes start at once on a shared 2-core machine.
      const settled = await Promise.all(processes.map((p) => p.settled(180_000)));
      for (const line of settled) assert.equal(line.msg, 'root CA ready', JSON.stringify(line));
      const tally: Record<string, number> = {};
      for (const l of settled) tally[String(l['outcome'])] = (tally[String(l['outcome'])] ?? 0) + 1;
      t.diagnostic(`round ${round}: ${JSON.stringify(tally)}, ${gate.arrivals.get(namespace)} Secret CREATEs`);
      assert.ok((tally['lost-race'] ?? 0) >= 1, `round ${round}: some instances raced and lost (outcomes ${JSON.stringify(tally)})`);
      const fingerprints = new Set(settled.map((l) => l['rootFingerprint']));
      assert.equal(fingerprints.size, 1, `round ${round}: fingerprints ${[...fingerprints].join(', ')}`);
      assert.equal(settled.filter((l) => l['created'] === true).length, 1, `round ${round}: exactly one instance created the Secret`);
      for (const l of settled) outcomes.set(String(l['outcome']), (outcomes.get(String(l['outcome'])) ?? 0) + 1);
      const secrets = await core.listNamespacedSecret({ namespace, labelSelector: 'app.kubernetes.io/name=openservicemesh.io' });
      assert.deepEqual(
        secrets.items.map((s) => s.metadata?.name),
        ['osm-ca-bundle'],
      );
      const stored = signingCAFromSecret(
        { namespace, name: 'osm-ca-bundle', data: Object.fromEntries(Object.entries(secrets.items[0]?.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])) },
        Date.now(),
      );
      assert.ok(stored.ok);
      assert.equal(stored.value.fingerprint, [...fingerprints][0]);
      const ready = await processes[round % 10]?.get('/readyz');
      assert.equal(ready?.status, 200);
      assert.match(ready?.body ?? '', new RegExp(`root fingerprint ${stored.value.fingerprint} from Secret ${namespace}/osm-ca-bundle`));
      const codes = await Promise.all(processes.map((p) => p.stop()));
      assert.deepEqual(codes, Array.from({ length: 10 }, () => 0), 'SIGTERM shuts down cleanly');
      running.length = 0;
    }
    t.diagnostic(`outcomes over 200 processes: ${JSON.stringify(Object.fromEntries(outcomes))}`);
    assert.equal(outcomes.get('created'), 20);
  });

  it('Tresor over the real API: concurrent candidates, one create wins (AlreadyExists for the rest), all use the stored root', async (t) => {
    const namespace = 'tresor-in-process';
    await createNamespace(namespace);
    const store = new KubeSecretStore(api.kubeConfig);
    const results = await Promise.all(
      Array.from({ length: 10 }, () => new TresorProvider({ store, namespace, trustDomain: 'cluster.local', clock: systemClock }).load()),
    );
    const loaded = results.map((r) => (r.ok ? r.value : assert.fail(r.error.message)));
    t.diagnostic(`outcomes: ${loaded.map((l) => l.outcome).join(', ')}`);
    assert.equal(new Set(loaded.map((l) => l.authority.rootFingerprint)).size, 1);
    assert.equal(loaded.filter((l) => l.outcome === 'created').length, 1);
    assert.ok(loaded.filter((l) => l.outcome === 'lost-race').length >= 1, `outcomes: ${loaded.map((l) => l.outcome).join(', ')}`);
    const stored = await readSecret(namespace);
    assert.equal(stored.metadata?.labels?.['app.kubernetes.io/name'], 'openservicemesh.io');
    assert.deepEqual(Object.keys(stored.data ?? {}).sort(), ['ca.crt', 'private.key']);
  });

  it("created the default MeshConfig as OSM's chart does, and applied the CRDs", async () => {
    const custom = api.kubeConfig.makeApiClient(CustomObjectsApi);
    const mc = (await custom.getNamespacedCustomObject({ group: 'config.openservicemesh.io', version: 'v1alpha2', namespace: 'race-1', plural: 'meshconfigs', name: 'osm-mesh-config' })) as { spec: unknown };
    // OSM's charts/osm/templates/preset-mesh-config.yaml rendered with charts/osm/values.yaml defaults (no Contour, tracing off).
    assert.deepEqual(mc.spec, {
      sidecar: { enablePrivilegedInitContainer: false, logLevel: 'error', maxDataPlaneConnections: 0, configResyncInterval: '0s', localProxyMode: 'Localhost' },
      traffic: {
        enableEgress: true,
        enablePermissiveTrafficPolicyMode: true,
        outboundPortExclusionList: [],
        inboundPortExclusionList: [],
        outboundIPRangeExclusionList: [],
        outboundIPRangeInclusionList: [],
        networkInterfaceExclusionList: [],
      },
      observability: { enableDebugServer: false, osmLogLevel: 'info', tracing: { enable: false } },
      certificate: { serviceCertValidityDuration: '24h', certKeyBitSize: 2048 },
      featureFlags: {
        enableWASMStats: true,
        enableSnapshotCacheMode: false,
        enableAsyncProxyServiceMapping: false,
        enableIngressBackendPolicy: true,
        enableEnvoyActiveHealthChecks: false,
        enableRetryPolicy: false,
        enableMeshRootCertificate: false,
      },
    });
    const crd = await api.kubeConfig.makeApiClient(ApiextensionsV1Api).readCustomResourceDefinition({ name: 'meshconfigs.config.openservicemesh.io' });
    const spec = crd.spec.versions[0]?.schema?.openAPIV3Schema?.properties?.['spec'];
    // Applied with every schema field intact (x-kubernetes-preserve-unknown-fields included).
    assert.equal(spec?.properties?.['featureFlags']?.x_kubernetes_preserve_unknown_fields, true);
    assert.ok(crd.metadata?.managedFields?.some((f) => f.manager === 'osm-ca-bootstrap' && f.operation === 'Apply'));
  });

  it('a restart with the Secret present changes nothing, and user edits to MeshConfig are kept', async () => {
    const namespace = 'restart';
    await createNamespace(namespace);
    const first = start(namespace);
    assert.equal((await first.settled()).msg, 'root CA ready');
    assert.equal(await first.stop(), 0);
    const before = await readSecret(namespace);
    const custom = api.kubeConfig.makeApiClient(CustomObjectsApi);
    const mcRef = { group: 'config.openservicemesh.io', version: 'v1alpha2', namespace, plural: 'meshconfigs', name: 'osm-mesh-config' };
    // A user edit, with an invalid duration: kept as is, reported by field name, default used.
    const edited = (await custom.patchNamespacedCustomObject(
      { ...mcRef, body: [{ op: 'replace', path: '/spec/certificate/serviceCertValidityDuration', value: 'forever' }] },
    )) as { metadata: { resourceVersion: string } };

    const second = start(namespace);
    const ready = await second.settled();
    assert.equal(ready.msg, 'root CA ready');
    assert.equal(ready['created'], false);
    assert.equal(ready['resourceVersion'], before.metadata?.resourceVersion);
    assert.equal(ready['rootFingerprint'], (await first.settled())['rootFingerprint']);
    const durationError = await second.waitForLog((l) => l.level === 'error' && /serviceCertValidityDuration/.test(l.msg));
    assert.match(durationError.msg, /MeshConfig restart\/osm-mesh-config: certificate\.serviceCertValidityDuration "forever" is not a valid duration: .*using the default 24h/);
    assert.equal(ready['serviceCertValidityMs'], DAY);
    assert.equal(await second.stop(), 0);

    const afterSecret = await readSecret(namespace);
    assert.equal(afterSecret.metadata?.resourceVersion, before.metadata?.resourceVersion);
    assert.deepEqual(afterSecret.data, before.data);
    const mcAfter = (await custom.getNamespacedCustomObject(mcRef)) as { metadata: { resourceVersion: string }; spec: { certificate: { serviceCertValidityDuration: string } } };
    assert.equal(mcAfter.metadata.resourceVersion, edited.metadata.resourceVersion);
    assert.equal(mcAfter.spec.certificate.serviceCertValidityDuration, 'forever');
  });

  describe('bad input: stays not ready, one clear error naming the Secret, Secret byte-for-byte unchanged', () => {
    const good = userRoot;
    const leaf = async () => {
      const loaded = signingCAFromSecret({ namespace: 'x', name: 'y', data: { 'ca.crt': Buffer.from(good.cert), 'private.key': Buffer.from(good.key) } }, Date.now());
      assert.ok(loaded.ok);
      const issued = new LocalCertificateAuthority({ ca: loaded.value, trustDomain: 'cluster.local', clock: systemClock }).issueSync({
        subject: { kind: 'service', serviceAccount: 'not-a-ca', namespace: 'x' },
        validityMs: DAY,
      });
      return { cert: issued.certificatePem, key: issued.privateKeyPem };
    };
    const cases: { name: string; data: () => Promise<{ cert: string; key: string }>; message: RegExp }[] = [
      { name: 'garbage PEM', data: async () => ({ cert: 'this is not PEM', key: 'nor is this' }), message: /the CA certificate is not PEM/ },
      { name: 'key that does not match the certificate', data: async () => ({ cert: good.cert, key: (await makeRoot('user-root', Date.now(), DAY)).key }), message: /private key does not match the certificate/ },
      { name: 'expired root', data: () => makeRoot('user-root', Date.now() - 10 * DAY, DAY), message: /the CA certificate expired at/ },
      { name: 'not-yet-valid root', data: () => makeRoot('user-root', Date.now() + DAY, 10 * DAY), message: /the CA certificate is not valid yet/ },
      { name: 'root that is not a CA', data: leaf, message: /is not a CA \(basicConstraints CA:TRUE is missing\)/ },
    ];
    cases.forEach((c, i) => {
      it(c.name, async () => {
        const namespace = `bad-${i}`;
        await createNamespace(namespace);
        const { cert, key } = await c.data();
        await core.createNamespacedSecret({
          namespace,
          body: { metadata: { name: 'osm-ca-bundle' }, data: { 'ca.crt': Buffer.from(cert).toString('base64'), 'private.key': Buffer.from(key).toString('base64') } },
        });
        const before = await readSecret(namespace);
        const p = start(namespace);
        const line = await p.settled();
        assert.equal(line.msg.startsWith('root CA not loaded'), true, JSON.stringify(line));
        assert.equal(line.level, 'error');
        assert.match(line.msg, new RegExp(`Secret ${namespace}/osm-ca-bundle`));
        assert.match(line.msg, c.message);
        assert.equal(line['secret'], `${namespace}/osm-ca-bundle`);
        const ready = await p.get('/readyz');
        assert.equal(ready.status, 503);
        assert.match(ready.body, c.message);
        assert.equal((await p.get('/livez')).status, 200);
        assert.match((await p.get('/metrics')).body, /^osm_ca_bootstrap_ready(\{[^}]*\})? 0$/m);
        assert.equal(p.logs.filter((l) => l.level === 'error' || l.level === 'fatal').length, 1, 'exactly one error logged');
        assert.equal(await p.stop(), 0);
        const afterSecret = await readSecret(namespace);
        assert.equal(afterSecret.metadata?.resourceVersion, before.metadata?.resourceVersion);
        assert.deepEqual(afterSecret.data, before.data);
      });
    });
  });

  it('a bad CA Secret is checked again: once fixed, the same process becomes ready without a restart', async () => {
    const namespace = 'fixed-in-place';
    await createNamespace(namespace);
    const secretData = (cert: string, key: string) => ({ 'ca.crt': Buffer.from(cert).toString('base64'), 'private.key': Buffer.from(key).toString('base64') });
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'osm-ca-bundle' }, data: secretData('not PEM', 'not PEM') } });
    const p = start(namespace);
    const failed = await p.settled();
    assert.match(failed.msg, /^root CA not loaded: Secret fixed-in-place\/osm-ca-bundle: the CA certificate is not PEM/);
    assert.equal((await p.get('/readyz')).status, 503);
    const pid = p.child.pid;

    // The user repairs the Secret in place.
    const fixed = await core.replaceNamespacedSecret({ namespace, name: 'osm-ca-bundle', body: { metadata: { name: 'osm-ca-bundle' }, data: secretData(userRoot.cert, userRoot.key) } });
    const ready = await p.waitForLog((l) => l.msg === 'root CA ready');
    assert.equal(p.child.pid, pid);
    assert.equal(p.child.exitCode, null, 'the same process, still running');
    assert.equal(ready['resourceVersion'], fixed.metadata?.resourceVersion);
    const readyz = await p.get('/readyz');
    assert.equal(readyz.status, 200);
    assert.match(readyz.body, new RegExp(`root fingerprint ${ready['rootFingerprint']} from Secret ${namespace}/osm-ca-bundle`));
    assert.match((await p.get('/metrics')).body, /^osm_ca_bootstrap_ready(\{[^}]*\})? 1$/m);
    assert.equal((await readSecret(namespace)).metadata?.resourceVersion, fixed.metadata?.resourceVersion, 'ca-bootstrap never wrote the Secret');
    assert.equal(await p.stop(), 0);
  });

  it('bring-your-own: uses the named Secret', async () => {
    const namespace = 'byo';
    await createNamespace(namespace);
    const byo = await makeRoot('byo-root', Date.now() - HOUR, DAY);
    await core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: 'my-ca' }, data: { 'ca.crt': Buffer.from(byo.cert).toString('base64'), 'private.key': Buffer.from(byo.key).toString('base64') } },
    });
    const p = start(namespace, '--certificate-manager', 'bring-your-own', '--ca-bundle-secret-name', 'my-ca');
    const ready = await p.settled();
    assert.equal(ready.msg, 'root CA ready');
    assert.equal(ready['secret'], `${namespace}/my-ca`);
    await assert.rejects(readSecret(namespace), /HTTP-Code: 404|404/, 'osm-ca-bundle is not created by bring-your-own');
    assert.equal(await p.stop(), 0);
  });

  it('a bad flag is refused with a message naming it and the allowed values', async () => {
    const p = start('x', '--certificate-manager', 'vault');
    assert.equal(await p.exited, 2);
    assert.match(p.stderr.join(''), /--certificate-manager "vault" is not valid: allowed values are tresor, bring-your-own, cert-manager/);
  });

  describe('cert-manager provider (CertificateRequest CRD installed, signed by a small test signer)', () => {
    let signer: TestSigner;
    const issuerCa = { certificatePem: issuerRoot.cert, privateKeyPem: issuerRoot.key };
    const namespace = 'cm';

    before(async () => {
      await applyManifests(api.kubeConfig, readManifests(fileURLToPath(new URL('./crds/', import.meta.url))));
      await createNamespace(namespace);
      await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'osm-ca-bundle' }, data: { 'ca.crt': Buffer.from(issuerCa.certificatePem).toString('base64') } } });
      signer = new TestSigner(api.kubeConfig, issuerCa, 'osm-ca', (csr) => (csr.length === 0 ? 'empty' : undefined));
      signer.start();
    });
    after(() => signer?.stop());

    it('issues through a CertificateRequest once it is signed; openssl verifies it against the issuer root', async () => {
      const provider = new CertManagerProvider({
        client: new KubeCertificateRequestClient(api.kubeConfig),
        store: new KubeSecretStore(api.kubeConfig),
        namespace,
        issuerRef: { name: 'osm-ca' },
        trustDomain: 'cluster.local',
        clock: systemClock,
        pollMs: 50,
        timeoutMs: 30_000,
      });
      let loaded = await provider.load();
      // The CRD may still be settling right after it was applied.
      for (let i = 0; i < 50 && !loaded.ok; i++) loaded = await provider.load();
      assert.ok(loaded.ok, loaded.ok ? '' : loaded.error.message);
      const issued = await loaded.value.authority
        .issue({ subject: { kind: 'service', serviceAccount: 'bookstore', namespace: 'shop' }, validityMs: DAY })
        .catch((err: unknown) => assert.fail(`${String(err)}; test signer errors: ${signer.errors.slice(-3).join(' | ')}`));
      assert.equal(signer.signed.length, 1);
      assert.match(signer.signed[0] ?? '', /^cm\/osm-[0-9a-f]{16}-[0-9a-f]{10}$/);
      const r = spawnSync('openssl', ['verify', '-CAfile', file(issuerCa.certificatePem), file(issued.certificatePem)], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      const text = spawnSync('openssl', ['x509', '-noout', '-text', '-in', file(issued.certificatePem)], { encoding: 'utf8' }).stdout;
      assert.match(text, /Subject: CN ?= ?bookstore\.shop\.cluster\.local\n/);
      assert.match(text, /DNS:bookstore\.shop\.cluster\.local, URI:spiffe:\/\/cluster\.local\/ns\/shop\/sa\/bookstore/);
      // The request object is cleaned up after use.
      const left = (await api.kubeConfig.makeApiClient(CustomObjectsApi).listNamespacedCustomObject({ group: 'cert-manager.io', version: 'v1', namespace, plural: 'certificaterequests' })) as { items: unknown[] };
      assert.equal(left.items.length, 0);
    });

    it('ca-bootstrap with --certificate-manager cert-manager is ready with the issuer root as trust anchor', async () => {
      const p = start(namespace, '--certificate-manager', 'cert-manager');
      const ready = await p.settled();
      assert.equal(ready.msg, 'root CA ready', JSON.stringify(ready));
      const anchor = signingCAFromSecret({ namespace, name: 'x', data: { 'ca.crt': Buffer.from(issuerCa.certificatePem), 'private.key': Buffer.from(issuerCa.privateKeyPem) } }, Date.now());
      assert.ok(anchor.ok);
      assert.equal(ready['rootFingerprint'], anchor.value.fingerprint);
      assert.equal(await p.stop(), 0);
    });
  });

  describe('certificates from the stored root', () => {
    const trust = async () => {
      const secret = await readSecret('race-1');
      const caCrt = Buffer.from(secret.data?.['ca.crt'] ?? '', 'base64').toString();
      const loaded = signingCAFromSecret(
        { namespace: 'race-1', name: 'osm-ca-bundle', data: Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])) },
        Date.now(),
      );
      assert.ok(loaded.ok);
      return { caCrt, authority: new LocalCertificateAuthority({ ca: loaded.value, trustDomain: 'cluster.local', clock: systemClock }) };
    };
    const verify = (caCrt: string, certPem: string) => spawnSync('openssl', ['verify', '-x509_strict', '-CAfile', file(caCrt), file(certPem)], { encoding: 'utf8' });
    const text = (certPem: string) => spawnSync('openssl', ['x509', '-noout', '-text', '-in', file(certPem)], { encoding: 'utf8' }).stdout;

    it('service and bootstrap certificates verify with openssl verify -CAfile against the stored root', async () => {
      const { caCrt, authority } = await trust();
      const service = authority.issueSync({ subject: { kind: 'service', serviceAccount: 'bookstore', namespace: 'shop' }, validityMs: DAY });
      const bootstrap = authority.issueSync({
        subject: { kind: 'bootstrap', proxyUuid: '9a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d', serviceAccount: 'bookstore', namespace: 'shop' },
        validityMs: DAY,
      });
      for (const cert of [service, bootstrap]) {
        const r = verify(caCrt, cert.certificatePem);
        assert.equal(r.status, 0, r.stdout + r.stderr);
      }
      const s = text(service.certificatePem);
      assert.match(s, /Subject: CN ?= ?bookstore\.shop\.cluster\.local\n/);
      assert.match(s, /DNS:bookstore\.shop\.cluster\.local, URI:spiffe:\/\/cluster\.local\/ns\/shop\/sa\/bookstore/);
      assert.match(s, /X509v3 Key Usage: critical\n\s+Digital Signature\n/);
      assert.match(s, /TLS Web Server Authentication, TLS Web Client Authentication/);
      const notBefore = /Not Before: (.*)\n/.exec(s)?.[1] ?? '';
      const notAfter = /Not After : (.*)\n/.exec(s)?.[1] ?? '';
      assert.equal(Date.parse(notAfter) - Date.parse(notBefore), DAY + CLOCK_SKEW_MS, 'a day from issuance, backdated a minute for clock skew');
      assert.match(text(bootstrap.certificatePem), /Subject: CN ?= ?9a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d\.sidecar\.bookstore\.shop\.cluster\.local\n/);
      const other = verify(otherRoot.cert, service.certificatePem);
      assert.notEqual(other.status, 0, 'a different root does not verify it');
    });

    it('rotation: with a short validity a cached certificate is renewed before expiry; the listener is told which identity', async () => {
      const { caCrt, authority } = await trust();
      const cache = new CertificateCache({ authority, validityMs: 8000, clock: systemClock });
      try {
        const events: RotationEvent[] = [];
        const rotated = new Promise<RotationEvent>((resolve) => cache.onRotate((e) => (events.push(e), e.identity === 'service:shop/bookbuyer' && resolve(e))));
        const first = await cache.get({ kind: 'service', serviceAccount: 'bookbuyer', namespace: 'shop' });
        await cache.get({ kind: 'service', serviceAccount: 'other', namespace: 'shop' });
        const mine = await rotated;
        assert.ok(Date.now() < first.notAfter, 'renewed before expiry');
        assert.equal(mine.previous.serial, first.serial);
        assert.equal(mine.current.commonName, 'bookbuyer.shop.cluster.local');
        assert.notEqual(mine.current.serial, first.serial);
        assert.equal(verify(caCrt, mine.current.certificatePem).status, 0);
        assert.equal(await cache.get({ kind: 'service', serviceAccount: 'bookbuyer', namespace: 'shop' }), mine.current);
        assert.ok(events.every((e) => ['service:shop/bookbuyer', 'service:shop/other'].includes(e.identity)));
      } finally {
        cache.close();
      }
    });
  });
});
