// Policy semantics on the bookstore demo, asserted directly (not only through the golden files). The
// shape is OSM's: clients route every path of a service they may reach; destinations enforce matches.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { envoy } from '@osm/envoy-api';
import { meshModel } from '@osm/mesh-model';
import type { MeshModel, Proxy } from '@osm/mesh-model';
import { buildSnapshot, checkConsistency, describeMissing, dumpSnapshot, RESOURCE_TYPES } from '../src/index.ts';
import type { Snapshot } from '../src/index.ts';
import { bookstoreModel, inputsFor, proxies } from './bookstore.ts';
import { routeConfig } from './helpers.ts';

const buildFor = (model: MeshModel, proxy: Proxy): Snapshot => {
  const snapshot = buildSnapshot(model, proxy, inputsFor(proxy));
  const result = checkConsistency(snapshot);
  assert.ok(result.consistent, describeMissing(result));
  return snapshot;
};
const build = (mode: 'permissive' | 'smi', name: keyof typeof proxies): Snapshot => buildFor(bookstoreModel(mode), proxies[name]);

const names = (s: Snapshot, type: (typeof RESOURCE_TYPES)[number]): string[] => [...s.types[type].resources.keys()];
const HRBAC = envoy.extensions.filters.http.rbac.v3.RBACPerRoute;
const Cluster = envoy.config.cluster.v3.Cluster;

/** The (path regex or prefix, method regex, other headers) of each route of a virtual host. */
function routeShapes(rc: envoy.config.route.v3.RouteConfiguration, vhost: string): string[] {
  const vh = rc.virtualHosts.find((v) => v.name === vhost);
  assert.ok(vh, `virtual host ${vhost} in ${rc.name}`);
  return vh.routes.map((r) => {
    const path = r.match?.safeRegex?.regex ?? `prefix ${r.match?.prefix ?? '?'}`;
    const headers = (r.match?.headers ?? []).map((h) => `${h.name}=${h.stringMatch?.safeRegex?.regex ?? '?'}`);
    return [path, ...headers].join(' ');
  });
}

/** The principals of each route's per-route RBAC in a virtual host. */
function routePrincipals(rc: envoy.config.route.v3.RouteConfiguration, vhost: string): (string | undefined)[][] {
  const vh = rc.virtualHosts.find((v) => v.name === vhost);
  assert.ok(vh, `virtual host ${vhost}`);
  return vh.routes.map((r) => {
    const any = r.typedPerFilterConfig['envoy.filters.http.rbac'];
    assert.ok(any, `per-route RBAC on ${vh.name}`);
    const rules = HRBAC.decode(any.value).rbac?.rules;
    return Object.values(rules?.policies ?? {}).flatMap((p) => p.principals.map((pr) => pr.authenticated?.principalName?.exact));
  });
}

describe('SMI mode on the bookstore demo', () => {
  it('bookthief (no TrafficTarget) has no route, cluster or endpoints toward any mesh service; only egress passes', () => {
    const s = build('smi', 'bookthief');
    assert.deepEqual(names(s, 'routes'), []);
    assert.deepEqual(names(s, 'clusters'), ['passthrough-outbound']);
    assert.deepEqual(names(s, 'endpoints'), []);
    const listener = envoy.config.listener.v3.Listener.decode(s.types.listeners.resources.get('outbound-listener')?.bytes ?? new Uint8Array());
    assert.deepEqual(listener.filterChains, [], 'no filter chain for a mesh service');
  });

  it('bookbuyer routes every path and method of the services it may reach (OSM); the matches are enforced by bookstore', () => {
    const s = build('smi', 'bookbuyer');
    const rc = routeConfig(s, 'rds-outbound.14001');
    for (const vh of ['outbound_virtual-host|bookstore/bookstore', 'outbound_virtual-host|bookstore/bookstore-v1', 'outbound_virtual-host|bookstore/bookstore-v2']) {
      assert.deepEqual(routeShapes(rc, vh), ['prefix /'], vh);
    }
    assert.deepEqual(rc.virtualHosts.map((v) => v.name).sort(), ['outbound_virtual-host|bookstore/bookstore', 'outbound_virtual-host|bookstore/bookstore-v1', 'outbound_virtual-host|bookstore/bookstore-v2']);
    assert.deepEqual(names(s, 'clusters'), ['bookstore/bookstore-v1|14001', 'bookstore/bookstore-v2|14001', 'passthrough-outbound']);
  });

  it('the TrafficSplit apex routes to the backends by weight, under the FQDN and name.ns with and without port, not the bare name', () => {
    const rc = routeConfig(build('smi', 'bookbuyer'), 'rds-outbound.14001');
    const apex = rc.virtualHosts.find((v) => v.name === 'outbound_virtual-host|bookstore/bookstore');
    assert.ok(apex);
    for (const r of apex.routes) {
      assert.deepEqual(r.route?.weightedClusters?.clusters.map((c) => [c.name, c.weight]), [['bookstore/bookstore-v1|14001', 50], ['bookstore/bookstore-v2|14001', 50]]);
    }
    // OSM's GetHostnamesForService list and order for a client in another namespace.
    assert.deepEqual(apex.domains, [
      'bookstore.bookstore',
      'bookstore.bookstore:14001',
      'bookstore.bookstore.svc',
      'bookstore.bookstore.svc:14001',
      'bookstore.bookstore.svc.cluster',
      'bookstore.bookstore.svc.cluster:14001',
      'bookstore.bookstore.svc.cluster.local',
      'bookstore.bookstore.svc.cluster.local:14001',
    ]);
  });

  it('bookstore-v1 grants only the matched routes, each with RBAC naming bookbuyer: another caller gets 403, an unmatched request 404', () => {
    const s = build('smi', 'bookstore-v1');
    const rc = routeConfig(s, 'rds-inbound.14001');
    for (const vh of ['inbound_virtual-host|bookstore/bookstore', 'inbound_virtual-host|bookstore/bookstore-v1']) {
      assert.deepEqual(routeShapes(rc, vh), ['.*a-book.*new :method=GET', '/books-bought :method=GET client-app=bookbuyer user-agent=.*-http-client/*.*'], vh);
      assert.deepEqual(routePrincipals(rc, vh), [['spiffe://cluster.local/ns/bookbuyer/sa/bookbuyer'], ['spiffe://cluster.local/ns/bookbuyer/sa/bookbuyer']], vh);
    }
    // The inbound HTTP filter chain runs the RBAC filter before the router: a request on a route whose
    // RBAC does not name the caller is answered 403 by this proxy.
    const listener = envoy.config.listener.v3.Listener.decode(s.types.listeners.resources.get('inbound-listener')?.bytes ?? new Uint8Array());
    const hcm = envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager.decode(listener.filterChains[0]?.filters[0]?.typedConfig?.value ?? new Uint8Array());
    assert.deepEqual(hcm.httpFilters.map((f) => f.name), ['envoy.filters.http.rbac', 'envoy.filters.http.router']);
    const inbound = s.types.secrets.resources.get('root-cert-for-mtls-inbound');
    assert.ok(inbound);
    const sans = envoy.extensions.transport_sockets.tls.v3.Secret.decode(inbound.bytes).validationContext?.matchTypedSubjectAltNames.map((m) => m.matcher?.exact);
    assert.deepEqual(sans, ['spiffe://cluster.local/ns/bookbuyer/sa/bookbuyer']);
  });

  it('an HTTPRouteGroup rule that names no match grants nothing (OSM); the source still routes to the service', () => {
    const base = bookstoreModel('smi');
    const target = base.trafficTargets.get('bookstore/bookbuyer-access-bookstore');
    assert.ok(target);
    const model: MeshModel = {
      ...base,
      trafficTargets: new Map([...base.trafficTargets, ['bookstore/bookbuyer-access-bookstore', { ...target, rules: [{ kind: 'HTTPRouteGroup', name: 'bookstore-service-routes', matches: [] }] }]]),
    };
    const rc = routeConfig(buildFor(model, proxies['bookstore-v1']), 'rds-inbound.14001');
    assert.deepEqual(rc.virtualHosts, [], 'no route is granted on bookstore-v1');
    assert.ok(routeConfig(buildFor(model, proxies.bookbuyer), 'rds-outbound.14001').virtualHosts.length > 0);
  });

  it('mysql is reachable over TCP from bookwarehouse only, through the TCPRoute', () => {
    assert.ok(names(build('smi', 'bookwarehouse'), 'clusters').includes('bookwarehouse/mysql|3306'));
    assert.ok(!names(build('smi', 'bookstore-v1'), 'clusters').includes('bookwarehouse/mysql|3306'));
    const listener = build('smi', 'mysql').types.listeners.resources.get('inbound-listener');
    assert.ok(listener);
    const chain = envoy.config.listener.v3.Listener.decode(listener.bytes).filterChains[0];
    assert.deepEqual(chain?.filters.map((f) => f.name), ['envoy.filters.network.rbac', 'envoy.filters.network.tcp_proxy']);
    const rbac = envoy.extensions.filters.network.rbac.v3.RBAC.decode(chain?.filters[0]?.typedConfig?.value ?? new Uint8Array());
    assert.deepEqual(
      Object.values(rbac.rules?.policies ?? {}).flatMap((p) => p.principals.map((pr) => pr.authenticated?.principalName?.exact)),
      ['spiffe://cluster.local/ns/bookwarehouse/sa/bookwarehouse'],
    );
  });
});

describe('permissive mode on the bookstore demo', () => {
  it('bookthief reaches every service with any path (the apex through its split backends)', () => {
    const s = build('permissive', 'bookthief');
    const rc = routeConfig(s, 'rds-outbound.14001');
    assert.deepEqual(routeShapes(rc, 'outbound_virtual-host|bookstore/bookstore'), ['prefix /']);
    assert.deepEqual(names(s, 'clusters'), ['bookstore/bookstore-v1|14001', 'bookstore/bookstore-v2|14001', 'bookwarehouse/bookwarehouse|14001', 'bookwarehouse/mysql|3306', 'passthrough-outbound']);
  });

  it('inbound has no RBAC and accepts any workload certificate of the mesh, but no bootstrap certificate', () => {
    const s = build('permissive', 'bookstore-v1');
    const rc = routeConfig(s, 'rds-inbound.14001');
    for (const vh of rc.virtualHosts) for (const r of vh.routes) assert.deepEqual(r.typedPerFilterConfig, {});
    const inbound = s.types.secrets.resources.get('root-cert-for-mtls-inbound');
    assert.ok(inbound);
    // Workload URIs are spiffe://<td>/ns/<ns>/sa/<sa>; a bootstrap certificate's is spiffe://<td>/<uuid>/sidecar/...
    const matchers = envoy.extensions.transport_sockets.tls.v3.Secret.decode(inbound.bytes).validationContext?.matchTypedSubjectAltNames;
    assert.deepEqual(
      matchers?.map((m) => [m.sanType, m.matcher?.prefix, m.matcher?.exact]),
      [[envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher_SanType.URI, 'spiffe://cluster.local/ns/', undefined]],
    );
  });

  it("the Prometheus listener follows the pod's prometheus.io/scrape annotation, not its namespace", () => {
    assert.ok(names(build('permissive', 'bookstore-v1'), 'listeners').includes('inbound-prometheus-listener'));
    assert.ok(names(build('permissive', 'bookstore-v1'), 'clusters').includes('envoy-metrics-cluster'));
    const model = bookstoreModel('permissive');
    const unannotated = buildFor(model, { ...proxies['bookstore-v1'], uuid: 'other', prometheusScrape: false });
    assert.ok(!names(unannotated, 'listeners').includes('inbound-prometheus-listener'), 'same namespace, pod not annotated');
    const annotated = buildFor(model, { ...proxies.bookwarehouse, prometheusScrape: true });
    assert.ok(names(annotated, 'listeners').includes('inbound-prometheus-listener'), 'annotated pod in a namespace without metrics');
  });
});

describe('served config as OSM', () => {
  it('every route of every bookstore snapshot disables the 15 s default timeout (timeout: 0s)', () => {
    let routes = 0;
    for (const mode of ['permissive', 'smi'] as const) {
      for (const name of Object.keys(proxies) as (keyof typeof proxies)[]) {
        for (const r of build(mode, name).types.routes.resources.values()) {
          for (const vh of envoy.config.route.v3.RouteConfiguration.decode(r.bytes).virtualHosts) {
            for (const route of vh.routes) {
              assert.deepEqual(route.route?.timeout, { seconds: 0, nanos: 0 }, `${mode} ${name} ${r.name} ${vh.name}`);
              routes++;
            }
          }
        }
      }
    }
    assert.ok(routes > 10);
  });

  it('virtual hosts carry the service FQDN under the configured cluster domain, with and without port', () => {
    const base = bookstoreModel('permissive');
    const model: MeshModel = { ...base, settings: { ...base.settings, clusterDomain: 'corp.example' } };
    const out = routeConfig(buildFor(model, proxies.bookbuyer), 'rds-outbound.14001').virtualHosts.find((v) => v.name === 'outbound_virtual-host|bookwarehouse/bookwarehouse');
    assert.deepEqual(out?.domains, [
      'bookwarehouse.bookwarehouse',
      'bookwarehouse.bookwarehouse:14001',
      'bookwarehouse.bookwarehouse.svc',
      'bookwarehouse.bookwarehouse.svc:14001',
      'bookwarehouse.bookwarehouse.svc.cluster',
      'bookwarehouse.bookwarehouse.svc.cluster:14001',
      'bookwarehouse.bookwarehouse.svc.corp.example',
      'bookwarehouse.bookwarehouse.svc.corp.example:14001',
    ]);
    const inb = routeConfig(buildFor(model, proxies.bookwarehouse), 'rds-inbound.14001').virtualHosts[0];
    assert.deepEqual(inb?.domains, ['bookwarehouse', 'bookwarehouse:14001', ...(out?.domains ?? [])], 'inbound serves every name, the bare one included');
  });

  it('upstream clusters are named <ns>/<svc>|<targetPort> and their endpoints are on the target port', () => {
    const model = meshModel({
      services: [{ namespace: 'shop', name: 'web', ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'http' }], clusterIps: ['10.96.0.1'], identities: [{ namespace: 'shop', name: 'web' }] }],
      endpoints: [{ service: { namespace: 'shop', name: 'web' }, endpoints: [{ ip: '10.1.0.1', port: 8080, ready: true }] }],
    });
    const client: Proxy = { uuid: 'c', identity: { namespace: 'shop', name: 'client' }, namespace: 'shop', podName: 'client-0', services: [], prometheusScrape: false };
    const s = buildFor(model, client);
    assert.deepEqual(names(s, 'clusters'), ['passthrough-outbound', 'shop/web|8080']);
    const eds = envoy.config.endpoint.v3.ClusterLoadAssignment.decode(s.types.endpoints.resources.get('shop/web|8080')?.bytes ?? new Uint8Array());
    assert.deepEqual(eds.endpoints[0]?.lbEndpoints.map((e) => e.endpoint?.address?.socketAddress?.portValue), [8080]);
    assert.ok(routeConfig(s, 'rds-outbound.80').virtualHosts[0]?.domains.includes('web:80'), 'the route configuration is per service port');
  });

  it('the service certificate has one name for every proxy, so upstream clusters are the same bytes for every identity', () => {
    const model = bookstoreModel('permissive');
    const buyer = buildFor(model, proxies.bookbuyer);
    const thief = buildFor(model, proxies.bookthief);
    const cluster = (s: Snapshot) => s.types.clusters.resources.get('bookwarehouse/bookwarehouse|14001');
    assert.deepEqual(cluster(buyer)?.bytes, cluster(thief)?.bytes);
    const tls = envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext.decode(Cluster.decode(cluster(buyer)?.bytes ?? new Uint8Array()).transportSocket?.typedConfig?.value ?? new Uint8Array());
    assert.deepEqual(tls.commonTlsContext?.tlsCertificateSdsSecretConfigs.map((c) => c.name), ['service-cert']);
    const cert = (s: Snapshot) => envoy.extensions.transport_sockets.tls.v3.Secret.decode(s.types.secrets.resources.get('service-cert')?.bytes ?? new Uint8Array());
    assert.notDeepEqual(cert(buyer).tlsCertificate, cert(thief).tlsCertificate, "each proxy receives its own identity's certificate under that name");
  });
});

describe('MeshConfig tracing (OSM: Zipkin spans from every HTTP connection manager)', () => {
  const tracing = { address: 'jaeger.osm-system.svc.cluster.local', port: 9411, endpoint: '/api/v2/spans' };
  const traced = (mode: 'permissive' | 'smi', t = tracing): MeshModel => {
    const base = bookstoreModel(mode);
    return { ...base, settings: { ...base.settings, tracing: t } };
  };
  const HCM = envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
  const Zipkin = envoy.config.trace.v3.ZipkinConfig;
  type Hcm = envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;

  /** Every HTTP connection manager of the snapshot's listeners, by `<listener> <filter chain>`. */
  function connectionManagers(s: Snapshot): Map<string, Hcm> {
    const out = new Map<string, Hcm>();
    for (const r of s.types.listeners.resources.values()) {
      const listener = envoy.config.listener.v3.Listener.decode(r.bytes);
      for (const [i, chain] of [...listener.filterChains, ...(listener.defaultFilterChain ? [listener.defaultFilterChain] : [])].entries()) {
        for (const f of chain.filters) if (f.typedConfig?.typeUrl === `type.googleapis.com/${HCM.$type}`) out.set(`${r.name} ${chain.name || i}`, HCM.decode(f.typedConfig.value));
      }
    }
    return out;
  }

  it('every inbound and outbound HTTP connection manager traces to envoy-tracing-cluster as OSM configured it; the Prometheus listener does not', () => {
    let tracedCount = 0;
    for (const mode of ['permissive', 'smi'] as const) {
      for (const name of Object.keys(proxies) as (keyof typeof proxies)[]) {
        for (const [where, hcm] of connectionManagers(buildFor(traced(mode), proxies[name]))) {
          if (where.startsWith('inbound-prometheus-listener')) {
            assert.equal(hcm.tracing, undefined, where);
            assert.equal(hcm.generateRequestId, undefined, where);
            continue;
          }
          assert.equal(hcm.tracing?.verbose, true, where);
          assert.equal(hcm.generateRequestId, true, where);
          assert.equal(hcm.tracing?.provider?.name, 'envoy.tracers.zipkin', where);
          assert.equal(hcm.tracing?.provider?.typedConfig?.typeUrl, 'type.googleapis.com/envoy.config.trace.v3.ZipkinConfig', where);
          const zipkin = Zipkin.decode(hcm.tracing?.provider?.typedConfig?.value ?? new Uint8Array());
          assert.deepEqual(
            { cluster: zipkin.collectorCluster, endpoint: zipkin.collectorEndpoint, version: zipkin.collectorEndpointVersion, shared: zipkin.sharedSpanContext, id128: zipkin.traceId128bit },
            { cluster: 'envoy-tracing-cluster', endpoint: '/api/v2/spans', version: envoy.config.trace.v3.ZipkinConfig_CollectorEndpointVersion.HTTP_JSON, shared: undefined, id128: false },
            where,
          );
          // Envoy's defaults for sampling, as OSM left them.
          assert.equal(hcm.tracing?.randomSampling, undefined, where);
          tracedCount++;
        }
      }
    }
    // bookbuyer, bookthief (outbound), bookstore-v1/v2 and bookwarehouse (both directions) in two modes.
    assert.ok(tracedCount >= 16, `${tracedCount} traced connection managers`);
  });

  it('every proxy gets the tracing cluster, even one without HTTP traffic: the collector by DNS name and port, as OSM', () => {
    for (const mode of ['permissive', 'smi'] as const) {
      for (const name of Object.keys(proxies) as (keyof typeof proxies)[]) {
        const s = buildFor(traced(mode), proxies[name]);
        const c = Cluster.decode(s.types.clusters.resources.get('envoy-tracing-cluster')?.bytes ?? new Uint8Array());
        assert.equal(c.name, 'envoy-tracing-cluster', `${mode} ${name}`);
        assert.equal(c.altStatName, 'envoy-tracing-cluster');
        assert.equal(c.type, envoy.config.cluster.v3.Cluster_DiscoveryType.LOGICAL_DNS);
        assert.equal(c.lbPolicy, envoy.config.cluster.v3.Cluster_LbPolicy.ROUND_ROBIN);
        assert.equal(c.transportSocket, undefined, 'spans go to the collector in plain HTTP (OSM)');
        assert.equal(c.loadAssignment?.clusterName, 'envoy-tracing-cluster');
        const sockets = (c.loadAssignment?.endpoints ?? []).flatMap((l) => l.lbEndpoints.map((e) => e.endpoint?.address?.socketAddress));
        assert.deepEqual(
          sockets.map((a) => [a?.address, a?.portValue, a?.protocol]),
          [['jaeger.osm-system.svc.cluster.local', 9411, envoy.config.core.v3.SocketAddress_Protocol.TCP]],
        );
      }
    }
    // SMI bookthief may call nobody: no HTTP connection manager, yet the cluster is there (OSM adds it to every CDS).
    assert.equal(connectionManagers(buildFor(traced('smi'), proxies.bookthief)).size, 0);
  });

  it('a collector address, port and endpoint of the MeshConfig go into the cluster and every connection manager', () => {
    const s = buildFor(traced('permissive', { address: 'zipkin.tracing.svc.corp.example', port: 9412, endpoint: '/zipkin/api/v2/spans' }), proxies['bookstore-v1']);
    const c = Cluster.decode(s.types.clusters.resources.get('envoy-tracing-cluster')?.bytes ?? new Uint8Array());
    const socket = c.loadAssignment?.endpoints[0]?.lbEndpoints[0]?.endpoint?.address?.socketAddress;
    assert.deepEqual([socket?.address, socket?.portValue], ['zipkin.tracing.svc.corp.example', 9412]);
    const managers = [...connectionManagers(s).entries()].filter(([where]) => !where.startsWith('inbound-prometheus-listener'));
    assert.ok(managers.some(([where]) => where.startsWith('inbound-listener')) && managers.some(([where]) => where.startsWith('outbound-listener')));
    for (const [where, hcm] of managers) assert.equal(Zipkin.decode(hcm.tracing?.provider?.typedConfig?.value ?? new Uint8Array()).collectorEndpoint, '/zipkin/api/v2/spans', where);
  });

  it('the readable dump (golden files, the controller\'s config_dump) shows the Zipkin config decoded', () => {
    const dump = dumpSnapshot(buildFor(traced('permissive'), proxies.bookbuyer));
    assert.match(dump, /"@type": type\.googleapis\.com\/envoy\.config\.trace\.v3\.ZipkinConfig\n\s+collectorCluster: envoy-tracing-cluster\n\s+collectorEndpoint: \/api\/v2\/spans\n/);
  });

  it('off (the default) there is no tracing anywhere; on, only the listeners with HTTP chains change and the cluster is added', () => {
    for (const mode of ['permissive', 'smi'] as const) {
      for (const name of Object.keys(proxies) as (keyof typeof proxies)[]) {
        const off = build(mode, name);
        assert.equal(off.types.clusters.resources.has('envoy-tracing-cluster'), false);
        for (const [where, hcm] of connectionManagers(off)) assert.equal(hcm.tracing, undefined, where);
        const on = buildFor(traced(mode), proxies[name]);
        const withHttp = new Set([...connectionManagers(on).keys()].filter((w) => !w.startsWith('inbound-prometheus-listener')).map((w) => w.split(' ')[0]));
        const changed: string[] = [];
        for (const type of RESOURCE_TYPES) {
          for (const r of on.types[type].resources.values()) if (off.types[type].resources.get(r.name)?.version !== r.version) changed.push(`${type}/${r.name}`);
          for (const r of off.types[type].resources.keys()) assert.ok(on.types[type].resources.has(r), `${type}/${r} stays`);
        }
        assert.deepEqual(changed.sort(), ['clusters/envoy-tracing-cluster', ...[...withHttp].map((l) => `listeners/${l}`)].sort(), `${mode} ${name}`);
      }
    }
  });
});

describe('encoding', () => {
  it('every resource of every bookstore snapshot decodes through the generated types and re-encodes to the same bytes', () => {
    const codecs = {
      clusters: envoy.config.cluster.v3.Cluster,
      endpoints: envoy.config.endpoint.v3.ClusterLoadAssignment,
      listeners: envoy.config.listener.v3.Listener,
      routes: envoy.config.route.v3.RouteConfiguration,
      secrets: envoy.extensions.transport_sockets.tls.v3.Secret,
    } as const;
    let count = 0;
    for (const mode of ['permissive', 'smi'] as const) {
      for (const name of Object.keys(proxies) as (keyof typeof proxies)[]) {
        const s = build(mode, name);
        for (const type of RESOURCE_TYPES) {
          for (const r of s.types[type].resources.values()) {
            const codec = codecs[type] as { decode(b: Uint8Array): { name?: string; clusterName?: string }; encode(m: unknown): { finish(): Uint8Array } };
            const decoded = codec.decode(r.bytes);
            assert.equal(decoded.name ?? decoded.clusterName, r.name);
            assert.deepEqual(codec.encode(decoded).finish(), r.bytes);
            count++;
          }
        }
      }
    }
    assert.ok(count > 50);
  });
});
