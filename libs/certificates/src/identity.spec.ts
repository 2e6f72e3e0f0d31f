import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { parseProxyCertCommonName } from '@osm/mesh-model';
import { DAY, makeAuthority } from '../test/fixtures.ts';

const uuid = '0b4a5c8e-1f2a-4c3d-9e8f-7a6b5c4d3e2f';
const commonNameOf = (pem: string): string => new X509Certificate(pem).subject.replace(/^CN=/, '');

describe('service accounts with dots (RFC 1123 subdomains)', () => {
  for (const trustDomain of ['cluster.local', 'mesh.example.com']) {
    for (const serviceAccount of ['build.bot', 'a.b.c', 'sidecar.x']) {
      it(`a bootstrap certificate for ${serviceAccount} under ${trustDomain} parses back to its proxy`, async () => {
        const { authority } = await makeAuthority({ trustDomain });
        const issued = authority.issueSync({ subject: { kind: 'bootstrap', proxyUuid: uuid, serviceAccount, namespace: 'ci' }, validityMs: DAY });
        const cn = commonNameOf(issued.certificatePem);
        assert.equal(cn, `${uuid}.sidecar.${serviceAccount}.ci.${trustDomain}`);
        assert.deepEqual(parseProxyCertCommonName(cn, trustDomain), { uuid, identity: { namespace: 'ci', name: serviceAccount } });
        // OSM's sidecar URI keeps the parts apart with slashes, dots and all.
        assert.match(new X509Certificate(issued.certificatePem).subjectAltName ?? '', new RegExp(`URI:spiffe://${trustDomain}/${uuid}/sidecar/${serviceAccount}/ci$`));
      });
    }
  }

  it('a service certificate for a dotted service account carries it whole in the SPIFFE URI', async () => {
    const { authority } = await makeAuthority();
    const issued = authority.issueSync({ subject: { kind: 'service', serviceAccount: 'build.bot', namespace: 'ci' }, validityMs: DAY });
    assert.equal(new X509Certificate(issued.certificatePem).subjectAltName, 'DNS:build.bot.ci.cluster.local, URI:spiffe://cluster.local/ns/ci/sa/build.bot');
  });

  it('a bootstrap CN is not read under another trust domain', async () => {
    const { authority } = await makeAuthority({ trustDomain: 'mesh.example.com' });
    const issued = authority.issueSync({ subject: { kind: 'bootstrap', proxyUuid: uuid, serviceAccount: 'build.bot', namespace: 'ci' }, validityMs: DAY });
    assert.equal(parseProxyCertCommonName(commonNameOf(issued.certificatePem), 'cluster.local'), undefined);
  });

  it('names that would make a CN unreadable are refused at issuance, naming the field', async () => {
    const { authority } = await makeAuthority();
    const bootstrap = (serviceAccount: string, namespace: string, proxyUuid = uuid) => () =>
      authority.issueSync({ subject: { kind: 'bootstrap', proxyUuid, serviceAccount, namespace }, validityMs: DAY });
    assert.throws(bootstrap('a..b', 'ci'), /serviceAccount "a\.\.b" is not valid: expected a Kubernetes service account name \(RFC 1123 subdomain\)/);
    assert.throws(bootstrap('bot', 'c.i'), /namespace "c\.i" is not valid: expected a Kubernetes namespace name \(RFC 1123 label\)/);
    assert.throws(bootstrap('bot', 'ci', 'a.b'), /proxyUuid "a\.b" is not valid: expected a lowercase UUID/);
  });
});
