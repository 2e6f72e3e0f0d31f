// The catalog wired to informers over a real kube-apiserver and etcd.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { kubeListWatchClient, kindPaths, MeshInformers } from '@osm/k8s-informers';
import type { MeshModel } from '@osm/mesh-model';
import { eventually, KubeRest, startKubeApiServer, type KubeApiServer } from '@osm/testing';
import { MeshCatalog, type CatalogBatch } from '../src/catalog.ts';
import type { KubeObjects } from '../src/kube-types.ts';
import { informerSource } from '../src/source.ts';
import { translate } from '../src/translate.ts';
import { modelText } from './fakes.ts';

const monitored = { 'openservicemesh.io/monitored-by': 'osm' };
const smi = {
  trafficTargets: '/apis/access.smi-spec.io/v1alpha3',
  routes: '/apis/specs.smi-spec.io/v1alpha4',
  splits: '/apis/split.smi-spec.io/v1alpha2',
  config: '/apis/config.openservicemesh.io/v1alpha2',
};

const podBody = (ns: string, name: string, labels: Record<string, string>, sa: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { namespace: ns, name, labels },
  spec: { serviceAccountName: sa, containers: [{ name: 'app', image: 'example.invalid/app:1' }] },
});
const sliceBody = (ns: string, name: string, svc: string, ips: { ip: string; ready?: boolean }[], port = 8080) => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { namespace: ns, name, labels: { 'kubernetes.io/service-name': svc } },
  addressType: 'IPv4',
  endpoints: ips.map((e) => ({ addresses: [e.ip], conditions: { ready: e.ready ?? true } })),
  ports: [{ name: 'http-web', port, protocol: 'TCP' }],
});
const serviceBody = (ns: string, name: string, app: string, ports: { name: string; port: number; appProtocol?: string }[] = [{ name: 'http-web', port: 80 }]) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { namespace: ns, name },
  spec: { selector: { app }, ports: ports.map((p) => ({ ...p, targetPort: 8080 })) },
});
const ttBody = (ns: string, name: string, dest: string, sources: { ns: string; sa: string }[], rules: unknown[] = []) => ({
  apiVersion: 'access.smi-spec.io/v1alpha3',
  kind: 'TrafficTarget',
  metadata: { namespace: ns, name },
  spec: { destination: { kind: 'ServiceAccount', name: dest, namespace: ns }, sources: sources.map((s) => ({ kind: 'ServiceAccount', name: s.sa, namespace: s.ns })), rules },
});

describe('mesh catalog against a real API server', () => {
  let api: KubeApiServer;
  let rest: KubeRest;
  let informers: MeshInformers;
  let catalog: MeshCatalog;
  const batches: CatalogBatch[] = [];

  /** Every watched object, listed afresh from the API server, in the shape the informers keep. */
  async function freshObjects(): Promise<KubeObjects> {
    const list = async (path: string, labelSelector?: string): Promise<never> => {
      const q = labelSelector ? `?labelSelector=${encodeURIComponent(labelSelector)}` : '';
      return ((await rest.ok('GET', path + q)) as { items: never }).items;
    };
    return {
      namespaces: await list(kindPaths.namespaces, 'openservicemesh.io/monitored-by=osm,!openservicemesh.io/ignore'),
      services: await list(kindPaths.services),
      pods: await list(kindPaths.pods),
      endpointSlices: await list(kindPaths.endpointSlices),
      serviceAccounts: await list(kindPaths.serviceAccounts),
      trafficTargets: await list(kindPaths.trafficTargets),
      httpRouteGroups: await list(kindPaths.httpRouteGroups),
      tcpRoutes: await list(kindPaths.tcpRoutes),
      trafficSplits: await list(kindPaths.trafficSplits),
      meshConfigs: (await list(kindPaths.meshConfigs('osm-system'))) as never,
    };
  }
  const model = (): MeshModel => {
    const m = catalog.model();
    assert.ok(m);
    return m;
  };
  const until = (what: string, check: (m: MeshModel) => boolean): Promise<void> => eventually(what, () => check(model()));
  const settled = async (): Promise<void> => {
    await eventually('the model to equal a fresh list', async () => modelText(catalog.model()) === modelText(translate(await freshObjects()).model), 60_000);
  };

  before(async () => {
    api = await startKubeApiServer({ progress: () => undefined });
    rest = new KubeRest(api.kubeConfig);
    await rest.create('/api/v1/namespaces', { metadata: { name: 'osm-system' } });
    informers = new MeshInformers({ client: kubeListWatchClient(api.kubeConfig), meshName: 'osm', controlPlaneNamespace: 'osm-system', backoff: { initialMs: 100, maxMs: 1000 } });
    informers.start();
    catalog = new MeshCatalog({ source: informerSource(informers) });
    catalog.subscribe((b) => batches.push(b));
    await catalog.start();
  });
  after(async () => {
    catalog?.stop();
    informers?.stop();
    await api?.stop();
  });

  it('reflects create, update and delete of every watched kind', async () => {
    // Namespace
    await rest.create('/api/v1/namespaces', { metadata: { name: 'shop', labels: monitored } });
    await until('namespace added', (m) => m.namespaces.has('shop'));
    await rest.create('/api/v1/namespaces', { metadata: { name: 'shortlived', labels: monitored } });
    await until('second namespace added', (m) => m.namespaces.has('shortlived'));
    await rest.delete('/api/v1/namespaces/shortlived');
    // No namespace controller runs here: finalize by hand so the delete completes.
    await rest.ok('PUT', '/api/v1/namespaces/shortlived/finalize', { metadata: { name: 'shortlived' }, spec: { finalizers: [] } });
    await until('namespace deleted', (m) => !m.namespaces.has('shortlived'));

    // ServiceAccount (identities)
    await rest.create('/api/v1/namespaces/shop/serviceaccounts', { metadata: { name: 'web' } });
    await rest.create('/api/v1/namespaces/shop/serviceaccounts', { metadata: { name: 'tmp' } });
    await eventually('service accounts added', () => (catalog.current()?.identities ?? []).some((i) => i.name === 'tmp'));
    await rest.patch('/api/v1/namespaces/shop/serviceaccounts/tmp', { metadata: { labels: { x: 'y' } } });
    await rest.delete('/api/v1/namespaces/shop/serviceaccounts/tmp');
    await eventually('service account deleted', () => !(catalog.current()?.identities ?? []).some((i) => i.name === 'tmp'));

    // Service
    await rest.create('/api/v1/namespaces/shop/services', serviceBody('shop', 'web', 'web'));
    await until('service added', (m) => m.services.get('shop/web')?.ports[0]?.protocol === 'http');
    await rest.patch('/api/v1/namespaces/shop/services/web', { spec: { ports: [{ name: 'http-web', port: 80, targetPort: 8080 }, { name: 'grpc-api', port: 9090, targetPort: 9090 }] } });
    await until('service updated', (m) => m.services.get('shop/web')?.ports.map((p) => p.protocol).join() === 'http,grpc');
    await rest.create('/api/v1/namespaces/shop/services', serviceBody('shop', 'gone', 'gone'));
    await until('second service added', (m) => m.services.has('shop/gone'));
    await rest.delete('/api/v1/namespaces/shop/services/gone');
    await until('service deleted', (m) => !m.services.has('shop/gone'));

    // Pod (proxy)
    await rest.create('/api/v1/namespaces/shop/pods', podBody('shop', 'web-1', { 'osm-proxy-uuid': 'u-web-1' }, 'web'));
    await until('proxy added', (m) => m.proxies.get('u-web-1')?.services.length === 0);
    await rest.patch('/api/v1/namespaces/shop/pods/web-1', { metadata: { labels: { app: 'web' } } });
    await until('proxy updated', (m) => m.proxies.get('u-web-1')?.services[0]?.name === 'web' && m.services.get('shop/web')?.identities[0]?.name === 'web');
    await rest.patch('/api/v1/namespaces/shop/pods/web-1', { metadata: { annotations: { 'prometheus.io/scrape': 'true' } } });
    await until('proxy follows its pod\'s prometheus.io/scrape', (m) => m.proxies.get('u-web-1')?.prometheusScrape === true);
    await rest.create('/api/v1/namespaces/shop/pods', podBody('shop', 'web-2', { 'osm-proxy-uuid': 'u-web-2', app: 'web' }, 'web'));
    await until('second proxy added', (m) => m.proxies.has('u-web-2'));
    await rest.ok('DELETE', '/api/v1/namespaces/shop/pods/web-2', { gracePeriodSeconds: 0 });
    await until('proxy deleted', (m) => !m.proxies.has('u-web-2'));

    // EndpointSlice
    await rest.create('/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices', sliceBody('shop', 'web-a', 'web', [{ ip: '10.1.0.1' }]));
    await until('endpoints added', (m) => m.endpoints.get('shop/web')?.length === 1);
    await rest.patch('/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices/web-a', { endpoints: [{ addresses: ['10.1.0.1'], conditions: { ready: false } }, { addresses: ['10.1.0.2'], conditions: { ready: true } }] });
    await until('endpoints updated', (m) => JSON.stringify(m.endpoints.get('shop/web')) === JSON.stringify([{ ip: '10.1.0.1', port: 8080, ready: false }, { ip: '10.1.0.2', port: 8080, ready: true }]));
    await rest.delete('/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices/web-a');
    await until('endpoints deleted', (m) => m.endpoints.get('shop/web')?.length === 0);

    // TrafficTarget
    // (A TrafficTarget without rules is invalid in OSM and left out: each one here names a rule.)
    await rest.create(`${smi.trafficTargets}/namespaces/shop/traffictargets`, ttBody('shop', 'tt', 'web', [{ ns: 'shop', sa: 'client' }], [{ kind: 'HTTPRouteGroup', name: 'routes', matches: ['get'] }]));
    await until('traffic target added', (m) => m.trafficTargets.get('shop/tt')?.sources[0]?.name === 'client');
    await rest.patch(`${smi.trafficTargets}/namespaces/shop/traffictargets/tt`, { spec: { rules: [{ kind: 'HTTPRouteGroup', name: 'other-routes', matches: ['get'] }] } });
    await until('traffic target updated', (m) => m.trafficTargets.get('shop/tt')?.rules[0]?.name === 'other-routes');
    await rest.delete(`${smi.trafficTargets}/namespaces/shop/traffictargets/tt`);
    await until('traffic target deleted', (m) => !m.trafficTargets.has('shop/tt'));

    // HTTPRouteGroup
    await rest.create(`${smi.routes}/namespaces/shop/httproutegroups`, { apiVersion: 'specs.smi-spec.io/v1alpha4', kind: 'HTTPRouteGroup', metadata: { namespace: 'shop', name: 'routes' }, spec: { matches: [{ name: 'get', methods: ['GET'] }] } });
    await until('route group added', (m) => m.httpRouteGroups.get('shop/routes')?.matches[0]?.methods[0] === 'GET');
    await rest.patch(`${smi.routes}/namespaces/shop/httproutegroups/routes`, { spec: { matches: [{ name: 'get', methods: ['GET'], pathRegex: '/books' }] } });
    await until('route group updated', (m) => m.httpRouteGroups.get('shop/routes')?.matches[0]?.pathRegex === '/books');
    await rest.delete(`${smi.routes}/namespaces/shop/httproutegroups/routes`);
    await until('route group deleted', (m) => !m.httpRouteGroups.has('shop/routes'));

    // TCPRoute
    await rest.create(`${smi.routes}/namespaces/shop/tcproutes`, { apiVersion: 'specs.smi-spec.io/v1alpha4', kind: 'TCPRoute', metadata: { namespace: 'shop', name: 'db' }, spec: { matches: { ports: [3306] } } });
    await until('tcp route added', (m) => m.tcpRoutes.get('shop/db')?.matches[0]?.ports[0] === 3306);
    await rest.patch(`${smi.routes}/namespaces/shop/tcproutes/db`, { spec: { matches: { ports: [3307, 3306] } } });
    await until('tcp route updated', (m) => m.tcpRoutes.get('shop/db')?.matches[0]?.ports.join() === '3306,3307');
    await rest.delete(`${smi.routes}/namespaces/shop/tcproutes/db`);
    await until('tcp route deleted', (m) => !m.tcpRoutes.has('shop/db'));

    // TrafficSplit
    await rest.create(`${smi.splits}/namespaces/shop/trafficsplits`, { apiVersion: 'split.smi-spec.io/v1alpha2', kind: 'TrafficSplit', metadata: { namespace: 'shop', name: 'split' }, spec: { service: 'web', backends: [{ service: 'web-v1', weight: 100 }] } });
    await until('split added', (m) => m.trafficSplits.get('shop/split')?.backends.length === 1);
    await rest.patch(`${smi.splits}/namespaces/shop/trafficsplits/split`, { spec: { backends: [{ service: 'web-v1', weight: 50 }, { service: 'web-v2', weight: 50 }] } });
    await until('split updated', (m) => m.trafficSplits.get('shop/split')?.backends.length === 2);
    await rest.delete(`${smi.splits}/namespaces/shop/trafficsplits/split`);
    await until('split deleted', (m) => !m.trafficSplits.has('shop/split'));

    // MeshConfig
    const mc = { apiVersion: 'config.openservicemesh.io/v1alpha2', kind: 'MeshConfig', metadata: { namespace: 'osm-system', name: 'osm-mesh-config' }, spec: { traffic: { enablePermissiveTrafficPolicyMode: false } } };
    await rest.create(`${smi.config}/namespaces/osm-system/meshconfigs`, { ...mc, spec: { certificate: { serviceCertValidityDuration: '1h' } } });
    await until('mesh config added', (m) => m.settings.serviceCertValiditySeconds === 3600);
    await rest.patch(`${smi.config}/namespaces/osm-system/meshconfigs/osm-mesh-config`, { spec: { traffic: { enablePermissiveTrafficPolicyMode: false } } });
    await until('mesh config updated', (m) => !m.settings.permissiveMode);
    // Sidecar tracing passes the CRD's schema and reaches the settings, with OSM's defaults for the empty fields.
    await rest.patch(`${smi.config}/namespaces/osm-system/meshconfigs/osm-mesh-config`, { spec: { observability: { tracing: { enable: true, port: 9412 } } } });
    await until('mesh config tracing on', (m) => m.settings.tracing?.address === 'jaeger.osm-system.svc.cluster.local' && m.settings.tracing.port === 9412 && m.settings.tracing.endpoint === '/api/v2/spans');
    await rest.patch(`${smi.config}/namespaces/osm-system/meshconfigs/osm-mesh-config`, { spec: { observability: { tracing: { enable: false } } } });
    await until('mesh config tracing off', (m) => m.settings.tracing === undefined && !m.settings.permissiveMode);
    await rest.delete(`${smi.config}/namespaces/osm-system/meshconfigs/osm-mesh-config`);
    // Without a MeshConfig, OSM's chart defaults apply: permissive mode on, 24 h certificates.
    await until('mesh config deleted', (m) => m.settings.permissiveMode && m.settings.serviceCertValiditySeconds === 86400);

    // Objects outside the mesh never appear.
    await rest.create('/api/v1/namespaces', { metadata: { name: 'outside' } });
    await rest.create('/api/v1/namespaces/outside/services', serviceBody('outside', 'x', 'x'));
    await rest.create('/api/v1/namespaces/outside/pods', podBody('outside', 'x', { 'osm-proxy-uuid': 'u-outside' }, 'default'));

    // A burst of creates and deletes: no delete is lost.
    await Promise.all(Array.from({ length: 20 }, (_, i) => rest.create('/api/v1/namespaces/shop/services', serviceBody('shop', `burst-${i}`, 'burst'))));
    await Promise.all(Array.from({ length: 20 }, (_, i) => rest.delete(`/api/v1/namespaces/shop/services/burst-${i}`)));
    await settled();
    assert.equal([...model().services.keys()].some((k) => k.startsWith('shop/burst-') || k.startsWith('outside/')), false);
    assert.equal(model().proxies.has('u-outside'), false);
  });

  it('a batch touching one service reports only the proxies that talk to it', async () => {
    for (const ns of ['buyer', 'store', 'thief']) {
      await rest.create('/api/v1/namespaces', { metadata: { name: ns, labels: monitored } });
      await rest.create(`/api/v1/namespaces/${ns}/serviceaccounts`, { metadata: { name: ns } });
      await rest.create(`/api/v1/namespaces/${ns}/services`, serviceBody(ns, ns, ns));
      await rest.create(`/api/v1/namespaces/${ns}/pods`, podBody(ns, `${ns}-1`, { app: ns, 'osm-proxy-uuid': `u-${ns}` }, ns));
      await rest.create('/apis/discovery.k8s.io/v1/namespaces/' + ns + '/endpointslices', sliceBody(ns, `${ns}-a`, ns, [{ ip: '10.2.0.1' }]));
    }
    // SMI mode: who talks to whom follows the TrafficTarget.
    await rest.create(`${smi.config}/namespaces/osm-system/meshconfigs`, { apiVersion: 'config.openservicemesh.io/v1alpha2', kind: 'MeshConfig', metadata: { namespace: 'osm-system', name: 'osm-mesh-config' }, spec: { traffic: { enablePermissiveTrafficPolicyMode: false } } });
    await rest.create(`${smi.trafficTargets}/namespaces/store/traffictargets`, ttBody('store', 'buyer-to-store', 'store', [{ ns: 'buyer', sa: 'buyer' }], [{ kind: 'HTTPRouteGroup', name: 'routes', matches: ['get'] }]));
    await settled();
    const from = batches.length;
    await rest.patch('/apis/discovery.k8s.io/v1/namespaces/store/endpointslices/store-a', { endpoints: [{ addresses: ['10.2.0.1'] }, { addresses: ['10.2.0.2'] }] });
    await eventually('the batch with the change', () => batches.slice(from).some((b) => b.diff?.changedEndpoints.includes('store/store')));
    const batch = batches.slice(from).find((b) => b.diff?.changedEndpoints.includes('store/store'));
    assert.deepEqual(batch?.affectedProxies, ['u-buyer']);
    // A change to the service itself adds the proxies behind it, still not the thief.
    const from2 = batches.length;
    await rest.patch('/api/v1/namespaces/store/services/store', { spec: { ports: [{ name: 'http-web', port: 80, targetPort: 8080 }, { name: 'tcp-admin', port: 9000, targetPort: 9000 }] } });
    await eventually('the batch with the service change', () => batches.slice(from2).some((b) => b.diff?.changedServices.includes('store/store')));
    assert.deepEqual(batches.slice(from2).find((b) => b.diff?.changedServices.includes('store/store'))?.affectedProxies, ['u-buyer', 'u-store']);
  });

  it('recovers from killing kube-apiserver and etcd; afterwards the model equals a fresh list', async () => {
    await rest.create('/api/v1/namespaces', { metadata: { name: 'outage', labels: monitored } });
    for (const n of ['a', 'b', 'c']) {
      await rest.create('/api/v1/namespaces/outage/services', serviceBody('outage', n, n));
      await rest.create('/api/v1/namespaces/outage/pods', podBody('outage', `${n}-1`, { app: n, 'osm-proxy-uuid': `u-outage-${n}` }, n));
    }
    await settled();
    // Changes just before the outage...
    await rest.delete('/api/v1/namespaces/outage/services/a');
    await rest.create('/apis/discovery.k8s.io/v1/namespaces/outage/endpointslices', sliceBody('outage', 'b-1', 'b', [{ ip: '10.3.0.1' }]));
    await api.stopApiServer('SIGKILL');
    await api.stopEtcd('SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    await api.startEtcd();
    await api.startApiServer();
    // ...and just after, likely before the informers are back.
    await rest.ok('DELETE', '/api/v1/namespaces/outage/pods/c-1', { gracePeriodSeconds: 0 });
    await rest.patch('/api/v1/namespaces/outage/services/b', { spec: { ports: [{ name: 'tcp-b', port: 81, targetPort: 8080 }] } });
    await rest.create('/api/v1/namespaces/outage/pods', podBody('outage', 'd-1', { app: 'b', 'osm-proxy-uuid': 'u-outage-d' }, 'b'));
    await settled();
    const m = model();
    assert.equal(m.services.has('outage/a'), false);
    assert.equal(m.services.get('outage/b')?.ports[0]?.protocol, 'tcp');
    assert.equal(m.proxies.has('u-outage-c'), false);
    assert.deepEqual(m.proxies.get('u-outage-d')?.services, [{ namespace: 'outage', name: 'b' }]);
    assert.ok(informers.all().some((i) => i.stats().failures > 0), 'the informers saw the outage');
  });
});
