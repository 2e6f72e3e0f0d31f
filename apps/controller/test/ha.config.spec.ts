// HA scenario "same config everywhere": three controller replicas watching one API server serve every
// proxy the same configuration, whichever replica it lands on, at the same versions. Only the service
// certificates differ (each replica issues its own, in memory), and those share the CN and the root; they
// are of one generation, so their secret has one version everywhere.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { ProxyStatus } from '@osm/testing';
import { configDump, hasFullConfig, rotatedBetween, startHaMesh, type DumpedConfig, type HaMesh } from './ha-mesh.ts';

const SERVICE_CERT = 'service-cert';

/** The ACKed version of each type URL of a proxy. */
const versionsOf = (s: ProxyStatus): Record<string, string> => Object.fromEntries(Object.entries(s.types).map(([url, t]) => [url, t.version]));
const isSecret = (url: string): boolean => url.endsWith('.Secret');

/** The service certificate (PEM) of a dump, and the dump with its certificate and key replaced by placeholders (versions stay). */
function withoutServiceCertificate(dump: DumpedConfig): { certificatePem: string; version: string; rest: string } {
  const config = structuredClone(dump.config);
  const secrets = config['secrets'];
  assert.ok(secrets, 'the dump has a secrets section');
  const cert = secrets.resources.find((r) => r.name === SERVICE_CERT);
  assert.ok(cert, `the dump holds ${SERVICE_CERT}`);
  const tls = (cert.resource as { tlsCertificate: { certificateChain: { inlineString: string }; privateKey: { inlineString: string } } }).tlsCertificate;
  const certificatePem = tls.certificateChain.inlineString;
  tls.certificateChain.inlineString = '<certificate>';
  tls.privateKey.inlineString = '<key>';
  return { certificatePem, version: cert.version, rest: JSON.stringify({ proxy: (dump as unknown as { proxy: unknown }).proxy, config }) };
}

describe('HA: three replicas serve the same config', () => {
  let ha: HaMesh;
  before(async () => {
    ha = await startHaMesh({ podsPerApp: 4, replicas: 3 });
  });
  after(() => ha?.stop());

  it("every proxy's ACKed versions, SDS included, equal those of the other proxies of its identity, whichever replica serves it, though each replica issued its own certificate", async () => {
    const from = Date.now();
    const statuses = await ha.fleet.waitFor('every proxy to hold a full config', (ss) => ss.every((s) => s.connected && hasFullConfig(s)));
    const replicasUsed = new Set(statuses.map((s) => ha.servedBy(s)));
    assert.ok(replicasUsed.size >= 2, `the proxies are spread over several replicas (${[...replicasUsed].join(', ')})`);
    for (const s of statuses) assert.match(s.replica, /^osm-controller-[012]$/, 'control_plane.identifier names the replica');
    // An identity entering a new certificate generation meanwhile: its SDS versions are compared no further.
    const rotated = rotatedBetween(ha.mesh.pods, from - 5000, Date.now() + 5000);

    const byIdentity = Map.groupBy(statuses, (s) => ha.identity(s.uuid));
    let acrossReplicas = 0;
    for (const [identity, group] of byIdentity) {
      const [first, ...others] = group;
      assert.ok(first);
      const compared = (s: ProxyStatus): Record<string, string> => Object.fromEntries(Object.entries(versionsOf(s)).filter(([url]) => !(isSecret(url) && rotated.has(s.uuid))));
      for (const s of others) {
        assert.deepEqual(compared(s), compared(first), `${identity}: ${ha.pod(s.uuid).name} on ${ha.servedBy(s)} and ${ha.pod(first.uuid).name} on ${ha.servedBy(first)}`);
      }
      const onReplicas = Map.groupBy(group, (s) => ha.servedBy(s));
      if (onReplicas.size < 2) continue;
      acrossReplicas++;
      // bookthief calls and serves nothing: it holds no service certificate.
      if (!Object.entries(first.types).some(([url, t]) => isSecret(url) && t.names.includes(SERVICE_CERT))) continue;
      // What the replicas serve this identity: a certificate of their own, at one and the same version.
      const served = await Promise.all(
        [...onReplicas].map(async ([replica, [s]]) => {
          const controller = ha.replicas.get(replica);
          assert.ok(controller && s);
          return { replica, ...withoutServiceCertificate(await configDump(controller, s.uuid)) };
        }),
      );
      assert.equal(new Set(served.map((d) => d.certificatePem)).size, served.length, `${identity}: each replica (${served.map((d) => d.replica).join(', ')}) issued its own certificate`);
      if (!group.some((s) => rotated.has(s.uuid))) assert.equal(new Set(served.map((d) => d.version)).size, 1, `${identity}: one ${SERVICE_CERT} version on every replica`);
    }
    assert.ok(acrossReplicas >= 3, `several identities have proxies on more than one replica (${acrossReplicas})`);
  });

  it("two replicas' config dumps of one proxy are byte-identical, versions included, apart from the service certificate, which differs but shares the CN and the root", async () => {
    const [a, b, c] = [...ha.replicas.values()];
    assert.ok(a && b && c);
    const root = new X509Certificate(ha.mesh.rootPem);
    // One pod of every app that has a service certificate (bookthief calls and serves nothing).
    const pods = ha.mesh.pods.filter((p) => p.name.endsWith('-0') && p.app !== 'bookthief');
    assert.equal(pods.length, 5);
    const from = Date.now();
    for (const pod of pods) {
      const dumps: DumpedConfig[] = await Promise.all([a, b, c].map((r) => configDump(r, pod.uuid)));
      // Taken at one instant, unless the pod's identity entered a new certificate generation meanwhile.
      if (rotatedBetween([pod], from - 5000, Date.now() + 5000).size > 0) continue;
      assert.deepEqual(dumps.map((d) => d.replica), ['osm-controller-0', 'osm-controller-1', 'osm-controller-2']);
      const [x, y, z] = dumps.map(withoutServiceCertificate);
      assert.ok(x && y && z);
      assert.equal(y.version, x.version, `${pod.name}: one ${SERVICE_CERT} version`);
      assert.equal(y.rest, x.rest, `${pod.name}: replica 1's dump equals replica 0's`);
      assert.equal(z.rest, x.rest, `${pod.name}: replica 2's dump equals replica 0's`);

      const certs = [x, y, z].map((d) => new X509Certificate(d.certificatePem));
      assert.equal(new Set(certs.map((cert) => cert.fingerprint256)).size, 3, `${pod.name}: each replica issued its own certificate`);
      for (const cert of certs) {
        assert.equal(cert.subject, `CN=${pod.serviceAccount}.${pod.namespace}.cluster.local`);
        assert.ok(cert.checkIssued(root) && cert.verify(root.publicKey), `${pod.name}: signed by the mesh root`);
        assert.match(cert.subjectAltName ?? '', new RegExp(`URI:spiffe://cluster.local/ns/${pod.namespace}/sa/${pod.serviceAccount}`));
      }
    }
  });
});
