import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { outboundServices, readyEndpoints } from '@osm/mesh-model';
import { serviceIdentities, translate, Translator } from '../src/translate.ts';
import { bookstore, emptyObjects, meshConfig, namespace, pod, service, slice } from './fixtures.ts';

describe('translate', () => {
  it('builds the bookstore mesh: services, endpoints, proxies, policies, settings', () => {
    const m = translate(bookstore()).model;
    assert.deepEqual([...m.namespaces.keys()], ['bookbuyer', 'bookstore', 'bookthief', 'bookwarehouse']);
    assert.deepEqual([...m.services.keys()], [
      'bookbuyer/bookbuyer',
      'bookstore/bookstore',
      'bookstore/bookstore-v1',
      'bookstore/bookstore-v2',
      'bookthief/bookthief',
      'bookwarehouse/bookwarehouse',
      'bookwarehouse/mysql',
    ]);
    assert.deepEqual(m.services.get('bookstore/bookstore'), {
      namespace: 'bookstore',
      name: 'bookstore',
      ports: [{ name: 'http-web', port: 14001, targetPort: 14001, protocol: 'http' }],
      clusterIps: ['10.96.0.12'],
      identities: [{ namespace: 'bookstore', name: 'bookstore' }],
    });
    assert.equal(m.services.get('bookwarehouse/mysql')?.ports[0]?.protocol, 'tcp-server-first');
    assert.deepEqual(m.endpoints.get('bookstore/bookstore'), [
      { ip: '10.1.0.3', port: 14001, ready: true },
      { ip: '10.1.0.4', port: 14001, ready: true },
    ]);
    assert.deepEqual(m.proxies.get('u-store-v1'), {
      uuid: 'u-store-v1',
      identity: { namespace: 'bookstore', name: 'bookstore' },
      namespace: 'bookstore',
      podName: 'bookstore-v1-1',
      services: [
        { namespace: 'bookstore', name: 'bookstore' },
        { namespace: 'bookstore', name: 'bookstore-v1' },
      ],
      prometheusScrape: true,
    });
    assert.equal(m.proxies.get('u-buyer')?.prometheusScrape, false, 'its pod has no prometheus.io/scrape annotation');
    assert.deepEqual(m.trafficTargets.get('bookstore/bookbuyer-access-bookstore'), {
      namespace: 'bookstore',
      name: 'bookbuyer-access-bookstore',
      destination: { kind: 'ServiceAccount', namespace: 'bookstore', name: 'bookstore' },
      sources: [{ kind: 'ServiceAccount', namespace: 'bookbuyer', name: 'bookbuyer' }],
      rules: [{ kind: 'HTTPRouteGroup', name: 'bookstore-service-routes', matches: ['books-bought', 'buy-a-book'] }],
    });
    assert.deepEqual(m.httpRouteGroups.get('bookstore/bookstore-service-routes')?.matches[0], {
      name: 'books-bought',
      pathRegex: '/books-bought',
      methods: ['GET'],
      headers: { 'user-agent': '.*-http-client/*.*' },
    });
    assert.deepEqual(m.tcpRoutes.get('bookwarehouse/mysql'), { namespace: 'bookwarehouse', name: 'mysql', matches: [{ name: '', ports: [3306] }] });
    assert.deepEqual(m.trafficSplits.get('bookstore/bookstore-split'), {
      namespace: 'bookstore',
      name: 'bookstore-split',
      apexService: 'bookstore',
      backends: [
        { service: 'bookstore-v1', weight: 75 },
        { service: 'bookstore-v2', weight: 25 },
      ],
    });
    assert.equal(m.settings.permissiveMode, false);
    // And the model answers the policy questions the snapshot builder asks.
    assert.deepEqual(
      outboundServices(m, { namespace: 'bookbuyer', name: 'bookbuyer' }).map((s) => s.name),
      ['bookstore', 'bookstore-v1', 'bookstore-v2'],
    );
    assert.deepEqual(outboundServices(m, { namespace: 'bookthief', name: 'bookthief' }), []);
  });

  const protocols: [string, { name?: string; appProtocol?: string }, string][] = [
    ['appProtocol wins', { name: 'http-x', appProtocol: 'tcp' }, 'tcp'],
    ['http- prefix', { name: 'http-x' }, 'http'],
    ['tcp- prefix', { name: 'tcp-x' }, 'tcp'],
    ['grpc- prefix', { name: 'grpc-x' }, 'grpc'],
    ['tcp-server-first- prefix', { name: 'tcp-server-first-x' }, 'tcp-server-first'],
    ['no prefix: http', { name: 'web' }, 'http'],
    ['unnamed: http', {}, 'http'],
  ];
  for (const [title, port, want] of protocols) {
    it(`port protocol: ${title}`, () => {
      const o = emptyObjects();
      o.namespaces.push(namespace('ns'));
      o.services.push(service('ns', 's', { app: 's' }, [{ ...port, port: 80 }]));
      assert.equal(translate(o).model.services.get('ns/s')?.ports[0]?.protocol, want);
    });
  }

  it('resolves named target ports from the EndpointSlices, skips UDP ports and ExternalName services', () => {
    const o = emptyObjects();
    o.namespaces.push(namespace('ns'));
    o.services.push(
      service('ns', 's', { app: 's' }, [
        { name: 'http-web', port: 80, targetPort: 'web' },
        { name: 'dns', port: 53, protocol: 'UDP' },
        { name: 'tcp-plain', port: 9000 },
      ]),
      { metadata: { namespace: 'ns', name: 'ext' }, spec: { type: 'ExternalName' } },
    );
    o.endpointSlices.push(slice('ns', 's-1', 's', [{ ip: '10.0.0.1' }], [{ name: 'http-web', port: 8080 }]));
    const m = translate(o).model;
    assert.deepEqual(m.services.get('ns/s')?.ports, [
      { name: 'http-web', port: 80, targetPort: 8080, protocol: 'http' },
      { name: 'tcp-plain', port: 9000, targetPort: 9000, protocol: 'tcp' },
    ]);
    assert.equal(m.services.has('ns/ext'), false);
  });

  it('takes endpoints from slices: unready kept as not ready, absent condition as ready, duplicates merged', () => {
    const o = emptyObjects();
    o.namespaces.push(namespace('ns'));
    o.services.push(service('ns', 's', { app: 's' }, [{ port: 80, targetPort: 8080 }]));
    o.endpointSlices.push(
      slice('ns', 's-2', 's', [{ ip: '10.0.0.2', ready: false }, { ip: '10.0.0.1' }], [{ port: 8080 }]),
      slice('ns', 's-1', 's', [{ ip: '10.0.0.2', ready: true }, { ip: '10.0.0.3', ready: false }], [{ port: 8080 }]),
      slice('ns', 'other', 'other-svc', [{ ip: '10.0.0.9' }], [{ port: 8080 }]),
    );
    const m = translate(o).model;
    assert.deepEqual(m.endpoints.get('ns/s'), [
      { ip: '10.0.0.1', port: 8080, ready: true },
      { ip: '10.0.0.2', port: 8080, ready: true },
      { ip: '10.0.0.3', port: 8080, ready: false },
    ]);
    assert.deepEqual(readyEndpoints(m, { namespace: 'ns', name: 's' }).map((e) => e.ip), ['10.0.0.1', '10.0.0.2']);
    assert.equal(m.endpoints.has('ns/other-svc'), false);
  });

  it('keeps nothing from unmonitored namespaces', () => {
    const o = bookstore();
    o.namespaces.splice(o.namespaces.findIndex((n) => n.metadata.name === 'bookthief'), 1);
    const m = translate(o).model;
    assert.equal(m.services.has('bookthief/bookthief'), false);
    assert.equal(m.proxies.has('u-thief'), false);
    assert.deepEqual(
      serviceIdentities(o).map((i) => `${i.namespace}/${i.name}`),
      ['bookbuyer/bookbuyer', 'bookstore/bookstore', 'bookwarehouse/bookwarehouse', 'bookwarehouse/mysql'],
    );
  });

  it('makes proxies only of pods with osm-proxy-uuid that are not finished; default service account', () => {
    const o = emptyObjects();
    o.namespaces.push(namespace('ns'));
    o.pods.push(
      pod('ns', 'a', { 'osm-proxy-uuid': 'ua' }, ''),
      pod('ns', 'b', {}, 'sa'),
      pod('ns', 'c', { 'osm-proxy-uuid': 'uc' }, 'sa', '10.0.0.3', { status: { phase: 'Succeeded' } }),
    );
    const m = translate(o).model;
    assert.deepEqual([...m.proxies.keys()], ['ua']);
    assert.deepEqual(m.proxies.get('ua')?.identity, { namespace: 'ns', name: 'default' });
  });

  it("reads the mesh settings from osm-mesh-config, OSM chart's defaults without it, the cluster domain from the options", () => {
    const o = emptyObjects();
    assert.equal(translate(o).model.settings.permissiveMode, true);
    assert.equal(translate(o).model.settings.enableEgress, true);
    assert.equal(translate(o).model.settings.serviceCertValiditySeconds, 86400);
    assert.equal(translate(o).model.settings.clusterDomain, 'cluster.local');
    assert.equal(translate(o, { clusterDomain: 'corp.example' }).model.settings.clusterDomain, 'corp.example');
    o.meshConfigs.push(
      meshConfig({
        traffic: { enablePermissiveTrafficPolicyMode: false, enableEgress: false, outboundPortExclusionList: [8080, 22, 22], outboundIPRangeExclusionList: ['10.0.0.0/8'] },
        sidecar: { logLevel: 'debug' },
        certificate: { serviceCertValidityDuration: '1h30m' },
      }),
    );
    const s = translate(o).model.settings;
    assert.equal(s.permissiveMode, false);
    assert.equal(s.enableEgress, false);
    assert.deepEqual(s.outboundPortExclusionList, [22, 8080]);
    assert.deepEqual(s.outboundIpRangeExclusionList, ['10.0.0.0/8']);
    assert.equal(s.envoyLogLevel, 'debug');
    assert.equal(s.serviceCertValiditySeconds, 5400);
    assert.equal(s.tracing, undefined, 'sidecar tracing is off unless observability.tracing.enable is true');
  });

  it("reads observability.tracing only when enabled, with OSM's defaults for empty or invalid fields", () => {
    const withTracing = (tracing: object, clusterDomain = 'cluster.local') => {
      const o = emptyObjects();
      o.meshConfigs.push({ ...meshConfig({ observability: { tracing } }), metadata: { namespace: 'mesh-system', name: 'osm-mesh-config' } });
      return translate(o, { clusterDomain }).model.settings.tracing;
    };
    assert.equal(withTracing({ enable: false, address: 'zipkin.tracing', port: 9412 }), undefined);
    assert.equal(withTracing({ address: 'zipkin.tracing' }), undefined);
    assert.deepEqual(withTracing({ enable: true }), { address: 'jaeger.mesh-system.svc.cluster.local', port: 9411, endpoint: '/api/v2/spans' });
    assert.deepEqual(withTracing({ enable: true }, 'corp.example')?.address, 'jaeger.mesh-system.svc.corp.example');
    assert.deepEqual(withTracing({ enable: true, address: 'zipkin.tracing.svc.cluster.local', port: 9412, endpoint: '/zipkin/api/v2/spans' }), {
      address: 'zipkin.tracing.svc.cluster.local',
      port: 9412,
      endpoint: '/zipkin/api/v2/spans',
    });
    assert.deepEqual(withTracing({ enable: true, address: '', port: 70_000, endpoint: 7 }), { address: 'jaeger.mesh-system.svc.cluster.local', port: 9411, endpoint: '/api/v2/spans' });
    assert.equal(withTracing({ enable: 'true' }), undefined, 'enable must be the boolean true');
  });

  it('service identities come from the pods the selector matches', () => {
    const o = emptyObjects();
    o.namespaces.push(namespace('ns'));
    o.services.push(service('ns', 's', { app: 's' }, [{ port: 80 }]));
    o.pods.push(pod('ns', 'p1', { app: 's', v: '1' }, 'sa-1'), pod('ns', 'p2', { app: 's' }, 'sa-2'), pod('ns', 'p3', { app: 'other' }, 'sa-3'));
    assert.deepEqual(translate(o).model.services.get('ns/s')?.identities, [
      { namespace: 'ns', name: 'sa-1' },
      { namespace: 'ns', name: 'sa-2' },
    ]);
  });
});

describe('Translator', () => {
  it('keeps what did not change: the same maps, lists and entries as the previous model', () => {
    const tr = new Translator();
    const objects = bookstore();
    const first = tr.translate(objects).model;
    // Nothing changed (fresh but equal objects for the small kinds): every part is the previous one.
    const again = tr.translate({ ...bookstore(), pods: objects.pods, services: objects.services, endpointSlices: objects.endpointSlices }).model;
    for (const part of ['settings', 'namespaces', 'services', 'endpoints', 'proxies', 'trafficTargets', 'httpRouteGroups', 'tcpRoutes', 'trafficSplits'] as const) {
      assert.equal(again[part], first[part], `${part} is the same object`);
    }
    // One endpoint changes: only the endpoints map and that service's list are new.
    const slices = objects.endpointSlices.map((x) => (x.metadata.name === 'bookwarehouse-abc' ? slice('bookwarehouse', 'bookwarehouse-abc', 'bookwarehouse', [{ ip: '10.1.0.5' }, { ip: '10.1.0.50' }], [{ name: 'http-web', port: 14001 }]) : x));
    const third = tr.translate({ ...objects, endpointSlices: slices }).model;
    assert.notEqual(third.endpoints, again.endpoints);
    assert.notEqual(third.endpoints.get('bookwarehouse/bookwarehouse'), again.endpoints.get('bookwarehouse/bookwarehouse'));
    assert.equal(third.endpoints.get('bookstore/bookstore'), again.endpoints.get('bookstore/bookstore'));
    for (const part of ['settings', 'namespaces', 'services', 'proxies', 'trafficTargets', 'httpRouteGroups', 'tcpRoutes', 'trafficSplits'] as const) {
      assert.equal(third[part], again[part], `${part} is the same object`);
    }
    // And the content is what a fresh translation gives.
    assert.deepEqual(third, translate({ ...objects, endpointSlices: slices }).model);
  });
});
