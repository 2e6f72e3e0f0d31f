// go-control-plane's reference ADS server (xds-reference) serving the bookstore snapshots over mTLS,
// and envoy-check connecting to it as Envoy does: every resource of each proxy arrives and passes;
// snapshots are replaced at run time; a client without a certificate from the mesh root is refused.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generateRootCA, LocalCertificateAuthority, loadSigningCA, type IssuedCertificate } from '@osm/certificates';
import { systemClock } from '@osm/clock';
import { checkEnvoyOverAds, formatEnvoyProblems, startXdsReference, XdsGoError, type EnvoyResource, type XdsReference } from '@osm/testing';
import { buildSnapshot, decodeToJson, type Snapshot } from '@osm/xds-snapshot';
// The bookstore mesh is xds-snapshot's own test fixture (its golden dumps are built from it), which the
// package exports for tests as `@osm/xds-snapshot/testing` (it cannot live in @osm/testing: xds-snapshot's
// tests would then depend on @osm/testing, which depends on xds-snapshot).
import { bookstoreModel, inputsFor, proxies } from '@osm/xds-snapshot/testing';

type Mode = 'permissive' | 'smi';
type ProxyName = keyof typeof proxies;
const names = Object.keys(proxies) as ProxyName[];

function snapshots(mode: Mode): Map<ProxyName, Snapshot> {
  const model = bookstoreModel(mode);
  return new Map(names.map((name) => [name, buildSnapshot(model, proxies[name], inputsFor(proxies[name]))]));
}

/**
 * Every resource as `type name json`, sorted. Decoded, because go-control-plane decodes the resources
 * and encodes them again (fields in field-number order), so equal resources need not be equal bytes.
 */
function contents(resources: Iterable<EnvoyResource>): string[] {
  return [...resources].map((r) => `${r.typeUrl} ${r.name} ${JSON.stringify(decodeToJson(r.typeUrl, r.bytes))}`).sort();
}

/**
 * What Envoy subscribes to: every cluster and listener (wildcard) and the endpoints, routes and
 * secrets they name. A snapshot may hold more (bookbuyer's and bookthief's carry the inbound root
 * certificate without an inbound listener); Envoy never asks for it, and go-control-plane's ADS cache
 * could not serve a type holding it, so xds-reference drops it.
 */
function resourcesOf(snapshot: Snapshot): EnvoyResource[] {
  const { clusters, listeners, endpoints, routes, secrets } = snapshot.types;
  const named = [...clusters.resources.values(), ...listeners.resources.values()];
  const wanted = (key: 'endpoints' | 'routes' | 'secrets'): Set<string> => new Set(named.flatMap((r) => r.refs[key]));
  const pick = (set: Snapshot['types']['routes'], names: Set<string>) => [...set.resources.values()].filter((r) => names.has(r.name));
  return [...named, ...pick(endpoints, wanted('endpoints')), ...pick(routes, wanted('routes')), ...pick(secrets, wanted('secrets'))];
}

async function authority(): Promise<LocalCertificateAuthority> {
  const root = await generateRootCA({ clock: systemClock });
  const ca = loadSigningCA(root.certificatePem, root.privateKeyPem, systemClock.now());
  assert.ok(ca.ok);
  return new LocalCertificateAuthority({ ca: ca.value, trustDomain: 'cluster.local', clock: systemClock });
}

const HOUR = 3600_000;

describe('xds-reference (go-control-plane) serving the bookstore mesh over mTLS', () => {
  let mesh: LocalCertificateAuthority;
  let server: XdsReference;
  let serverCert: IssuedCertificate;
  const permissive = snapshots('permissive');
  const smi = snapshots('smi');
  const bootstrapCert = (name: ProxyName): IssuedCertificate =>
    mesh.issueSync({ subject: { kind: 'bootstrap', proxyUuid: proxies[name].uuid, serviceAccount: proxies[name].identity.name, namespace: proxies[name].identity.namespace }, validityMs: HOUR });
  const ownCert = (name: ProxyName): { certPem: string; keyPem: string } => {
    const issued = bootstrapCert(name);
    return { certPem: issued.certificatePem, keyPem: issued.privateKeyPem };
  };
  const collect = (name: ProxyName, cert: { certPem?: string; keyPem?: string } = ownCert(name)) =>
    checkEnvoyOverAds({ server: server.address, caPem: mesh.trustBundlePem, serverName: 'localhost', nodeId: proxies[name].uuid, ...cert });

  before(async () => {
    mesh = await authority();
    serverCert = mesh.issueSync({ subject: { kind: 'server', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }, validityMs: HOUR });
    server = await startXdsReference({
      certPem: serverCert.certificatePem,
      keyPem: serverCert.privateKeyPem,
      caPem: mesh.trustBundlePem,
      snapshots: { nodes: new Map(names.map((name) => [proxies[name].uuid, permissive.get(name) as Snapshot])) },
    });
  });
  after(async () => {
    await server?.stop();
  });

  for (const name of names) {
    it(`${name}: envoy-check over ADS collects every resource it subscribes to, and they pass`, async () => {
      const report = await collect(name);
      assert.deepEqual(report.problems, [], formatEnvoyProblems(report.problems));
      const expected = permissive.get(name);
      assert.ok(expected);
      assert.deepEqual(contents(report.resources), contents(resourcesOf(expected)));
    });
  }

  it('replaced snapshots (SMI for every node, a shared one for unknown nodes) are what proxies then receive', async () => {
    const bookthief = smi.get('bookthief');
    assert.ok(bookthief);
    await server.replaceSnapshots({ nodes: new Map(names.map((name) => [proxies[name].uuid, smi.get(name) as Snapshot])), shared: bookthief });
    for (const name of ['bookbuyer', 'bookwarehouse'] as const) {
      const report = await collect(name);
      assert.deepEqual(report.problems, [], formatEnvoyProblems(report.problems));
      assert.deepEqual(contents(report.resources), contents(resourcesOf(smi.get(name) as Snapshot)));
    }
    const stranger = '00000000-0000-4000-8000-0000000000ff';
    const cert = mesh.issueSync({ subject: { kind: 'bootstrap', proxyUuid: stranger, serviceAccount: 'bookthief', namespace: 'bookthief' }, validityMs: HOUR });
    const report = await checkEnvoyOverAds({ server: server.address, caPem: mesh.trustBundlePem, serverName: 'localhost', nodeId: stranger, certPem: cert.certificatePem, keyPem: cert.privateKeyPem });
    assert.deepEqual(contents(report.resources), contents(resourcesOf(bookthief)));
  });

  it('a snapshot file that does not decode is refused at reload, and the server keeps serving', async () => {
    await server.replaceSnapshots({ nodes: new Map([[proxies.bookbuyer.uuid, smi.get('bookbuyer') as Snapshot]]) });
    const garbage: EnvoyResource = { typeUrl: 'type.googleapis.com/envoy.config.cluster.v3.Cluster', name: 'x', bytes: Uint8Array.of(0xff, 0xff) };
    await assert.rejects(server.replaceSnapshots({ shared: [garbage] }), (err: unknown) => err instanceof XdsGoError && err.code === 'ReferenceFailed' && /value does not decode as envoy\.config\.cluster\.v3\.Cluster/.test(err.message));
    const report = await collect('bookbuyer');
    assert.deepEqual(contents(report.resources), contents(resourcesOf(smi.get('bookbuyer') as Snapshot)));
  });

  it('a client without a certificate is refused', async () => {
    await assert.rejects(collect('bookbuyer', {}), (err: unknown) => {
      assert.ok(err instanceof XdsGoError, String(err));
      assert.equal(err.code, 'AdsFailed');
      assert.match(err.message, /remote error: tls: certificate required/);
      return true;
    });
  });

  it('a client certificate from another root is refused', async () => {
    const other = await authority();
    const foreign = other.issueSync({ subject: { kind: 'bootstrap', proxyUuid: proxies.bookbuyer.uuid, serviceAccount: 'bookbuyer', namespace: 'bookbuyer' }, validityMs: HOUR });
    await assert.rejects(collect('bookbuyer', { certPem: foreign.certificatePem, keyPem: foreign.privateKeyPem }), (err: unknown) => {
      assert.ok(err instanceof XdsGoError, String(err));
      assert.match(err.message, /remote error: tls: (unknown certificate authority|bad certificate)/);
      return true;
    });
  });

  it('the client verifies the server name as Envoy does', async () => {
    const cert = bootstrapCert('bookbuyer');
    const attempt = checkEnvoyOverAds({
      server: server.address,
      caPem: mesh.trustBundlePem,
      serverName: 'osm-controller.osm-system.svc.cluster.local',
      nodeId: proxies.bookbuyer.uuid,
      certPem: cert.certificatePem,
      keyPem: cert.privateKeyPem,
    });
    await assert.rejects(attempt, /certificate is valid for localhost, not osm-controller\.osm-system\.svc\.cluster\.local/);
  });
});
