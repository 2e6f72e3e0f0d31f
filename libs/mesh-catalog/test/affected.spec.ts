import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diffModels, equalData } from '../src/affected.ts';
import { translate } from '../src/translate.ts';
import { bookstore, meshConfig, pod, slice } from './fixtures.ts';

type Objects = ReturnType<typeof bookstore>;

function affectedBy(change: (o: Objects) => void, base: () => Objects = bookstore): string[] {
  const before = base();
  const after = base();
  change(after);
  return [...diffModels(translate(before).model, translate(after).model).affectedProxies];
}

const replace = <T extends { metadata: { name: string; namespace?: string } }>(list: T[], ns: string, name: string, next: (old: T) => T | undefined): void => {
  const i = list.findIndex((x) => (x.metadata.namespace ?? '') === ns && x.metadata.name === name);
  assert.ok(i >= 0, `${ns}/${name} exists`);
  const v = next(list[i] as T);
  if (v) list[i] = v;
  else list.splice(i, 1);
};

describe('affected proxies (SMI mode, bookstore)', () => {
  it('nothing changed: no proxy', () => {
    assert.deepEqual(affectedBy(() => undefined), []);
  });

  it('an endpoint of bookstore-v1 changes: only its client bookbuyer', () => {
    assert.deepEqual(
      affectedBy((o) => replace(o.endpointSlices, 'bookstore', 'bookstore-v1-abc', () => slice('bookstore', 'bookstore-v1-abc', 'bookstore-v1', [{ ip: '10.1.0.3' }, { ip: '10.1.0.9' }], [{ name: 'http-web', port: 14001 }]))),
      ['u-buyer'],
    );
  });

  it('a port of bookstore-v1 changes: the proxies behind it and its client; not bookthief, bookwarehouse or mysql', () => {
    assert.deepEqual(
      affectedBy((o) =>
        replace(o.services, 'bookstore', 'bookstore-v1', (s) => ({ ...s, spec: { ...s.spec, ports: [{ name: 'http-web', port: 14001, targetPort: 14001 }, { name: 'grpc-x', port: 9000 }] } })),
      ),
      ['u-buyer', 'u-store-v1'],
    );
  });

  it('bookwarehouse changes: its proxy and its callers (both bookstore versions), not the services it calls', () => {
    assert.deepEqual(
      affectedBy((o) => replace(o.services, 'bookwarehouse', 'bookwarehouse', (s) => ({ ...s, spec: { ...s.spec, clusterIPs: ['10.96.1.1'], clusterIP: '10.96.1.1' } }))),
      ['u-store-v1', 'u-store-v2', 'u-warehouse'],
    );
  });

  it('a TrafficTarget goes away: its destination and source proxies', () => {
    assert.deepEqual(
      affectedBy((o) => replace(o.trafficTargets, 'bookstore', 'bookbuyer-access-bookstore', () => undefined)),
      ['u-buyer', 'u-store-v1', 'u-store-v2'],
    );
  });

  it('an HTTPRouteGroup changes: only the destination of the targets using it (sources route every path)', () => {
    assert.deepEqual(
      affectedBy((o) =>
        replace(o.httpRouteGroups, 'bookwarehouse', 'bookwarehouse-service-routes', (g) => ({ ...g, spec: { matches: [{ name: 'restock-books', methods: ['POST', 'PUT'] }] } })),
      ),
      ['u-warehouse'],
    );
  });

  it('the split changes: the clients of the apex', () => {
    assert.deepEqual(
      affectedBy((o) => replace(o.trafficSplits, 'bookstore', 'bookstore-split', (t) => ({ ...t, spec: { service: 'bookstore', backends: [{ service: 'bookstore-v1', weight: 50 }, { service: 'bookstore-v2', weight: 50 }] } }))),
      ['u-buyer'],
    );
  });

  it('a new meshed pod: that proxy only', () => {
    assert.deepEqual(
      affectedBy((o) => o.pods.push(pod('bookbuyer', 'bookbuyer-2', { app: 'bookbuyer', 'osm-proxy-uuid': 'u-buyer-2' }, 'bookbuyer', '10.1.0.7'))),
      ['u-buyer-2'],
    );
  });

  it("a pod's prometheus.io/scrape annotation changes: that proxy only", () => {
    assert.deepEqual(
      affectedBy((o) => replace(o.pods, 'bookwarehouse', 'mysql-0', (p) => ({ ...p, metadata: { ...p.metadata, annotations: { 'prometheus.io/scrape': 'true' } } }))),
      ['u-mysql'],
    );
  });

  it('the MeshConfig changes: every proxy', () => {
    const d = diffModels(translate(bookstore()).model, translate({ ...bookstore(), meshConfigs: [meshConfig({ traffic: { enablePermissiveTrafficPolicyMode: true } })] }).model);
    assert.equal(d.allProxies, true);
    assert.deepEqual(d.affectedProxies, ['u-buyer', 'u-mysql', 'u-store-v1', 'u-store-v2', 'u-thief', 'u-warehouse']);
  });

  it('permissive mode: an endpoint change reaches every proxy (everyone may call everyone)', () => {
    const permissive = (): Objects => ({ ...bookstore(), meshConfigs: [meshConfig({ traffic: { enablePermissiveTrafficPolicyMode: true } })] });
    assert.deepEqual(
      affectedBy((o) => replace(o.endpointSlices, 'bookwarehouse', 'mysql-abc', () => slice('bookwarehouse', 'mysql-abc', 'mysql', [{ ip: '10.1.0.8' }], [{ port: 3306 }])), permissive),
      ['u-buyer', 'u-mysql', 'u-store-v1', 'u-store-v2', 'u-thief', 'u-warehouse'],
    );
  });
});

describe('equalData', () => {
  it('compares plain data and maps deeply', () => {
    assert.equal(equalData({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] }), true);
    assert.equal(equalData({ a: [1, { b: 2 }] }, { a: [1, { b: 3 }] }), false);
    assert.equal(equalData({ a: 1 }, { a: 1, b: undefined }), false);
    assert.equal(equalData(new Map([['k', { v: 1 }]]), new Map([['k', { v: 1 }]])), true);
    assert.equal(equalData(new Map([['k', { v: 1 }]]), new Map([['k', { v: 2 }]])), false);
    assert.equal(equalData([1], { 0: 1 }), false);
  });
});
