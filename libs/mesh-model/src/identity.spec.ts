import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { certCommonName, isDnsLabel, isDnsSubdomain, isProxyUuid, parseProxyCertCommonName, proxyCertCommonName, proxySpiffeId, spiffeId } from './identity.ts';

const uuid = '7f2e9a1c-0000-4000-8000-000000000001';

describe('parseProxyCertCommonName with dotted service accounts', () => {
  // A service account is an RFC 1123 subdomain: dots are allowed, so the CN has more than five labels.
  const cases: { trustDomain: string; namespace: string; name: string }[] = [
    { trustDomain: 'cluster.local', namespace: 'ci', name: 'build.bot' },
    { trustDomain: 'cluster.local', namespace: 'ci', name: 'a.b.c.d' },
    { trustDomain: 'mesh.example.com', namespace: 'shop', name: 'sidecar' },
    { trustDomain: 'mesh.example.com', namespace: 'shop', name: 'sidecar.sidecar' },
    { trustDomain: 'local', namespace: 'cluster', name: 'x.y' },
    { trustDomain: 'cluster.local', namespace: 'a', name: 'z' },
  ];
  for (const c of cases) {
    it(`round-trips ${c.name} in ${c.namespace} under ${c.trustDomain}`, () => {
      const proxy = { uuid, identity: { namespace: c.namespace, name: c.name } };
      const cn = proxyCertCommonName(proxy, c.trustDomain);
      assert.deepEqual(parseProxyCertCommonName(cn, c.trustDomain), proxy);
    });
  }

  it('reads the last label before the trust domain as the namespace (namespaces have no dots)', () => {
    assert.deepEqual(parseProxyCertCommonName(`${uuid}.sidecar.build.bot.ci.cluster.local`, 'cluster.local'), { uuid, identity: { namespace: 'ci', name: 'build.bot' } });
  });
});

describe('proxySpiffeId', () => {
  it("is OSM's bootstrap URI, and differs from the workload URI of a service account that makes the same CN", () => {
    const proxy = { uuid, identity: { namespace: 'shop', name: 'bookbuyer' } };
    assert.equal(proxySpiffeId(proxy, 'cluster.local'), `spiffe://cluster.local/${uuid}/sidecar/bookbuyer/shop`);
    // A service account named `<uuid>.sidecar.bookbuyer` in shop: its service CN is the proxy's bootstrap CN.
    const lookalike = { namespace: 'shop', name: `${uuid}.sidecar.bookbuyer` };
    assert.equal(certCommonName(lookalike, 'cluster.local'), proxyCertCommonName(proxy, 'cluster.local'));
    assert.notEqual(spiffeId(lookalike, 'cluster.local'), proxySpiffeId(proxy, 'cluster.local'));
  });
});

describe('parseProxyCertCommonName refuses malformed CNs', () => {
  const td = 'cluster.local';
  const cases: [string, string][] = [
    [`${uuid}.sidecar.bookbuyer.shop.other.domain`, 'another trust domain'],
    [`${uuid}.sidecar.bookbuyer.shop.xcluster.local`, 'a trust domain that only ends like ours'],
    [`${uuid}.sidecar.shop.cluster.local`, 'no service account'],
    [`${uuid}.sidecar..shop.cluster.local`, 'an empty service account'],
    [`${uuid}.sidecar.bookbuyer..cluster.local`, 'an empty namespace'],
    [`${uuid}.notsidecar.bookbuyer.shop.cluster.local`, 'not a sidecar CN'],
    [`${uuid}.bookbuyer.shop.cluster.local`, 'a service CN with a uuid in front'],
    ['bookbuyer.shop.cluster.local', 'a service certificate CN'],
    ['x.sidecar.bookbuyer.shop.cluster.local', 'a uuid that is not a UUID'],
    [`${uuid.toUpperCase()}.sidecar.bookbuyer.shop.cluster.local`, 'an uppercase uuid'],
    [`.sidecar.bookbuyer.shop.cluster.local`, 'an empty uuid'],
    [`${uuid}.sidecar.Book_Buyer.shop.cluster.local`, 'a service account that is not an RFC 1123 subdomain'],
    [`${uuid}.sidecar.bookbuyer.-shop.cluster.local`, 'a namespace that is not an RFC 1123 label'],
    [`${uuid}.sidecar.${'a'.repeat(254)}.shop.cluster.local`, 'a service account longer than 253'],
    ['cluster.local', 'the trust domain alone'],
    ['', 'nothing'],
  ];
  for (const [cn, why] of cases) it(why, () => assert.equal(parseProxyCertCommonName(cn, td), undefined, cn));
});

describe('Kubernetes name checks', () => {
  it('labels, subdomains and uuids', () => {
    assert.ok(isDnsLabel('bookstore-v1'));
    assert.equal(isDnsLabel('a.b'), false);
    assert.equal(isDnsLabel('a'.repeat(64)), false);
    assert.ok(isDnsSubdomain('build.bot'));
    assert.equal(isDnsSubdomain('Bad_Name'), false);
    assert.equal(isDnsSubdomain('a..b'), false);
    assert.ok(isProxyUuid(uuid));
    assert.equal(isProxyUuid('nope'), false);
  });
});
