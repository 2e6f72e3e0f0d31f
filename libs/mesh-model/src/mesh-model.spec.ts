import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hostnamesForClient } from './hostnames.ts';
import { certCommonName, keyOf, parseKey, parseProxyCertCommonName, proxyCertCommonName, spiffeId } from './identity.ts';
import { defaultMeshSettings, meshModel, outboundServices, readyEndpoints, servicesOfProxy, trafficSplitForApex, trafficTargetsTo } from './model.ts';
import { protocolOfPort } from './protocol.ts';
import { meshTracing } from './tracing.ts';
import type { MeshService, TrafficTarget } from './types.ts';

const svc = (namespace: string, name: string, sa = name): MeshService => ({
  namespace,
  name,
  ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'http' }],
  clusterIps: ['10.96.0.10'],
  identities: [{ namespace, name: sa }],
});

describe('identity names', () => {
  const id = { namespace: 'bookstore', name: 'bookstore-v1' };
  it('makes the certificate CN and SPIFFE ID', () => {
    assert.equal(certCommonName(id, 'cluster.local'), 'bookstore-v1.bookstore.cluster.local');
    assert.equal(spiffeId(id, 'cluster.local'), 'spiffe://cluster.local/ns/bookstore/sa/bookstore-v1');
  });
  it('round-trips the proxy certificate CN and rejects other shapes', () => {
    const p = { uuid: '7f2e9a1c-0000-4000-8000-000000000001', identity: id };
    const cn = proxyCertCommonName(p, 'cluster.local');
    assert.equal(cn, '7f2e9a1c-0000-4000-8000-000000000001.sidecar.bookstore-v1.bookstore.cluster.local');
    assert.deepEqual(parseProxyCertCommonName(cn, 'cluster.local'), p);
    for (const bad of ['x.notsidecar.a.b.cluster.local', 'x.sidecar.a.cluster.local', 'x.sidecar.a.b.other.domain', '.sidecar.a.b.cluster.local']) {
      assert.equal(parseProxyCertCommonName(bad, 'cluster.local'), undefined, bad);
    }
  });
  it('keys and parses namespace/name', () => {
    assert.equal(keyOf(id), 'bookstore/bookstore-v1');
    assert.deepEqual(parseKey('a/b'), { namespace: 'a', name: 'b' });
    for (const bad of ['a', '/b', 'a/', 'a/b/c']) assert.equal(parseKey(bad), undefined, bad);
  });
});

describe('protocolOfPort', () => {
  const table: [string | undefined, string | undefined, string][] = [
    ['http-web', undefined, 'http'],
    ['tcp-db', undefined, 'tcp'],
    ['grpc-api', undefined, 'grpc'],
    ['tcp-server-first-mysql', undefined, 'tcp-server-first'],
    ['web', undefined, 'http'],
    [undefined, undefined, 'http'],
    ['http-web', 'tcp', 'tcp'],
    ['tcp-x', 'unknown', 'tcp'],
    ['', 'GRPC', 'grpc'],
  ];
  for (const [name, app, want] of table) it(`${name ?? '-'} / ${app ?? '-'} -> ${want}`, () => assert.equal(protocolOfPort(name, app), want));
});

describe('hostnames', () => {
  // OSM's GetHostnamesForService (pkg/compute/kube/client.go) for bookstore:14001, written out.
  const osmOtherNamespace = [
    'bookstore.bookstore',
    'bookstore.bookstore:14001',
    'bookstore.bookstore.svc',
    'bookstore.bookstore.svc:14001',
    'bookstore.bookstore.svc.cluster',
    'bookstore.bookstore.svc.cluster:14001',
    'bookstore.bookstore.svc.cluster.local',
    'bookstore.bookstore.svc.cluster.local:14001',
  ];
  const s = svc('bookstore', 'bookstore');

  it("are OSM's list in OSM's order for a client in another namespace (localNamespace false)", () => {
    assert.deepEqual(hostnamesForClient(s, 14001, 'bookbuyer', 'cluster.local'), osmOtherNamespace);
  });
  it("start with the bare name and its port for a client in the service's namespace (localNamespace true)", () => {
    assert.deepEqual(hostnamesForClient(s, 14001, 'bookstore', 'cluster.local'), ['bookstore', 'bookstore:14001', ...osmOtherNamespace]);
  });
  it('write the FQDN under the configured cluster domain, and never repeat a name', () => {
    assert.deepEqual(hostnamesForClient(s, 80, 'bookbuyer', 'corp.example'), [
      'bookstore.bookstore',
      'bookstore.bookstore:80',
      'bookstore.bookstore.svc',
      'bookstore.bookstore.svc:80',
      'bookstore.bookstore.svc.cluster',
      'bookstore.bookstore.svc.cluster:80',
      'bookstore.bookstore.svc.corp.example',
      'bookstore.bookstore.svc.corp.example:80',
    ]);
    assert.deepEqual(hostnamesForClient(s, 80, 'bookbuyer', 'cluster'), osmOtherNamespace.slice(0, 6).map((h) => h.replace(':14001', ':80')));
  });
});

describe('defaultMeshSettings', () => {
  it("are OSM chart's MeshConfig defaults: permissive mode and egress on", () => {
    assert.equal(defaultMeshSettings.permissiveMode, true);
    assert.equal(defaultMeshSettings.enableEgress, true);
    assert.equal(meshModel().settings.permissiveMode, true);
  });
  it('leave sidecar tracing off (OSM chart: observability.tracing.enable false)', () => {
    assert.equal(defaultMeshSettings.tracing, undefined);
  });
});

describe('model lookups', () => {
  const tt = (name: string, src: string, dst: string): TrafficTarget => ({
    namespace: 'bookstore',
    name,
    destination: { kind: 'ServiceAccount', namespace: 'bookstore', name: dst },
    sources: [{ kind: 'ServiceAccount', namespace: 'bookbuyer', name: src }],
    rules: [],
  });
  const parts = {
    namespaces: [{ name: 'bookstore' }],
    settings: { permissiveMode: false },
    services: [svc('bookstore', 'bookstore-v2'), svc('bookstore', 'bookstore', 'bookstore-v1'), svc('bookstore', 'bookstore-v1'), svc('bookwarehouse', 'bookwarehouse')],
    endpoints: [{ service: { namespace: 'bookstore', name: 'bookstore-v1' }, endpoints: [{ ip: '10.0.0.1', port: 8080, ready: true }, { ip: '10.0.0.2', port: 8080, ready: false }, { ip: '10.0.0.3', port: 9090, ready: true }] }],
    trafficTargets: [tt('t1', 'bookbuyer', 'bookstore-v1'), tt('t0', 'bookbuyer', 'bookstore-v2')],
    trafficSplits: [{ namespace: 'bookstore', name: 'split', apexService: 'bookstore', backends: [{ service: 'bookstore-v2', weight: 50 }, { service: 'bookstore-v1', weight: 50 }] }],
  };
  const buyer = { namespace: 'bookbuyer', name: 'bookbuyer' };

  it('SMI mode: outbound services are those of allowed destinations (and their split apex), sorted', () => {
    const m = meshModel(parts);
    assert.deepEqual(outboundServices(m, buyer).map(keyOf), ['bookstore/bookstore', 'bookstore/bookstore-v1', 'bookstore/bookstore-v2']);
    assert.deepEqual(outboundServices(m, { namespace: 'bookthief', name: 'bookthief' }), []);
  });
  it('SMI mode: a split apex is not reachable when none of its backends is', () => {
    const m = meshModel({ ...parts, services: [svc('bookstore', 'bookstore', 'nobody'), svc('bookstore', 'other', 'bookstore-v1')] });
    assert.deepEqual(outboundServices(m, buyer).map(keyOf), ['bookstore/other']);
  });
  it('permissive mode: every service is reachable', () => {
    const m = meshModel({ ...parts, settings: { permissiveMode: true } });
    assert.deepEqual(outboundServices(m, { namespace: 'x', name: 'y' }).map(keyOf), ['bookstore/bookstore', 'bookstore/bookstore-v1', 'bookstore/bookstore-v2', 'bookwarehouse/bookwarehouse']);
  });
  it('finds ready endpoints, services of a proxy, targets and splits', () => {
    const m = meshModel(parts);
    assert.deepEqual(readyEndpoints(m, { namespace: 'bookstore', name: 'bookstore-v1' }, 8080), [{ ip: '10.0.0.1', port: 8080, ready: true }]);
    assert.equal(readyEndpoints(m, { namespace: 'bookstore', name: 'bookstore-v1' }).length, 2);
    assert.deepEqual(trafficTargetsTo(m, { namespace: 'bookstore', name: 'bookstore-v1' }).map(keyOf), ['bookstore/t1']);
    assert.equal(trafficSplitForApex(m, { namespace: 'bookstore', name: 'bookstore' })?.name, 'split');
    assert.equal(trafficSplitForApex(m, { namespace: 'bookstore', name: 'bookstore-v1' }), undefined);
    const proxy = { uuid: 'u', identity: { namespace: 'bookstore', name: 'bookstore-v1' }, namespace: 'bookstore', podName: 'p', services: [{ namespace: 'bookstore', name: 'bookstore-v1' }, { namespace: 'bookstore', name: 'bookstore' }, { namespace: 'bookstore', name: 'gone' }], prometheusScrape: false };
    assert.deepEqual(servicesOfProxy(m, proxy).map(keyOf), ['bookstore/bookstore', 'bookstore/bookstore-v1']);
  });
});

describe('meshTracing', () => {
  it("fills OSM's defaults into empty fields: jaeger in the MeshConfig's namespace, 9411, /api/v2/spans", () => {
    assert.deepEqual(meshTracing({ address: '', port: 0, endpoint: '' }, 'osm-system', 'cluster.local'), {
      address: 'jaeger.osm-system.svc.cluster.local',
      port: 9411,
      endpoint: '/api/v2/spans',
    });
    assert.equal(meshTracing({ address: '', port: 0, endpoint: '' }, 'mesh-ns', 'corp.example').address, 'jaeger.mesh-ns.svc.corp.example');
  });
  it('keeps the fields that are set', () => {
    const set = { address: 'zipkin.tracing.svc.cluster.local', port: 9412, endpoint: '/zipkin/api/v2/spans' };
    assert.deepEqual(meshTracing(set, 'osm-system', 'cluster.local'), set);
    assert.deepEqual(meshTracing({ address: '', port: 14_411, endpoint: '' }, 'osm-system', 'cluster.local'), { address: 'jaeger.osm-system.svc.cluster.local', port: 14_411, endpoint: '/api/v2/spans' });
  });
});
