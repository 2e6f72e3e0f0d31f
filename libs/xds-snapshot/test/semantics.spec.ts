// Policy semantics on the bookstore demo, asserted directly (not only through the golden files).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { envoy } from '@osm/envoy-api';
import { buildSnapshot, checkConsistency, describeMissing, RESOURCE_TYPES } from '../src/index.ts';
import type { Snapshot } from '../src/index.ts';
import { bookstoreModel, inputsFor, proxies } from './bookstore.ts';
import { routeConfig } from './helpers.ts';

const build = (mode: 'permissive' | 'smi', name: keyof typeof proxies): Snapshot => {
  const snapshot = buildSnapshot(bookstoreModel(mode), proxies[name], inputsFor(proxies[name]));
  const result = checkConsistency(snapshot);
  assert.ok(result.consistent, describeMissing(result));
  return snapshot;
};

const names = (s: Snapshot, type: (typeof RESOURCE_TYPES)[number]): string[] => [...s.types[type].resources.keys()];
const HRBAC = envoy.extensions.filters.http.rbac.v3.RBACPerRoute;

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

describe('SMI mode on the bookstore demo', () => {
  it('bookthief has no route, cluster, listener or endpoints toward bookstore', () => {
    const s = build('smi', 'bookthief');
    assert.deepEqual(names(s, 'routes'), []);
    assert.deepEqual(names(s, 'clusters'), []);
    assert.deepEqual(names(s, 'endpoints'), []);
    assert.deepEqual(names(s, 'listeners'), []);
  });

  it("bookbuyer routes to bookstore only for the HTTPRouteGroup's paths and methods", () => {
    const s = build('smi', 'bookbuyer');
    const rc = routeConfig(s, 'rds-outbound.14001');
    const expected = ['.*a-book.*new :method=GET', '/books-bought :method=GET client-app=bookbuyer user-agent=.*-http-client/*.*'];
    for (const vh of ['outbound_virtual-host|bookstore/bookstore', 'outbound_virtual-host|bookstore/bookstore-v1', 'outbound_virtual-host|bookstore/bookstore-v2']) {
      assert.deepEqual(routeShapes(rc, vh).sort(), [...expected].sort(), vh);
    }
    // No other service is reachable: bookwarehouse and mysql are not bookbuyer's destinations.
    assert.deepEqual(rc.virtualHosts.map((v) => v.name).sort(), ['outbound_virtual-host|bookstore/bookstore', 'outbound_virtual-host|bookstore/bookstore-v1', 'outbound_virtual-host|bookstore/bookstore-v2']);
    assert.deepEqual(names(s, 'clusters'), ['bookstore/bookstore-v1|14001', 'bookstore/bookstore-v2|14001']);
  });

  it('the TrafficSplit apex routes to the backends by weight, and the apex hostnames include name.ns but not the bare name', () => {
    const rc = routeConfig(build('smi', 'bookbuyer'), 'rds-outbound.14001');
    const apex = rc.virtualHosts.find((v) => v.name === 'outbound_virtual-host|bookstore/bookstore');
    assert.ok(apex);
    for (const r of apex.routes) {
      assert.deepEqual(r.route?.weightedClusters?.clusters.map((c) => [c.name, c.weight]), [['bookstore/bookstore-v1|14001', 50], ['bookstore/bookstore-v2|14001', 50]]);
    }
    assert.ok(apex.domains.includes('bookstore.bookstore:14001'));
    assert.ok(!apex.domains.includes('bookstore'), 'bookbuyer is in another namespace: the bare name is not bookstore');
  });

  it('bookstore-v1 allows only bookbuyer on its inbound routes and validates only bookbuyer certificates', () => {
    const s = build('smi', 'bookstore-v1');
    const rc = routeConfig(s, 'rds-inbound.14001');
    const principals = rc.virtualHosts.flatMap((vh) =>
      vh.routes.map((r) => {
        const any = r.typedPerFilterConfig['envoy.filters.http.rbac'];
        assert.ok(any, `per-route RBAC on ${vh.name}`);
        const rules = HRBAC.decode(any.value).rbac?.rules;
        return Object.values(rules?.policies ?? {}).flatMap((p) => p.principals.map((pr) => pr.authenticated?.principalName?.exact));
      }),
    );
    assert.ok(principals.length > 0);
    for (const p of principals) assert.deepEqual(p, ['spiffe://cluster.local/ns/bookbuyer/sa/bookbuyer']);
    const inbound = s.types.secrets.resources.get('root-cert-for-mtls-inbound');
    assert.ok(inbound);
    const sans = envoy.extensions.transport_sockets.tls.v3.Secret.decode(inbound.bytes).validationContext?.matchTypedSubjectAltNames.map((m) => m.matcher?.exact);
    assert.deepEqual(sans, ['spiffe://cluster.local/ns/bookbuyer/sa/bookbuyer']);
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
    assert.deepEqual(names(s, 'clusters'), ['bookstore/bookstore-v1|14001', 'bookstore/bookstore-v2|14001', 'bookwarehouse/bookwarehouse|14001', 'bookwarehouse/mysql|3306']);
  });

  it('inbound has no RBAC and accepts any mesh certificate', () => {
    const s = build('permissive', 'bookstore-v1');
    const rc = routeConfig(s, 'rds-inbound.14001');
    for (const vh of rc.virtualHosts) for (const r of vh.routes) assert.deepEqual(r.typedPerFilterConfig, {});
    const inbound = s.types.secrets.resources.get('root-cert-for-mtls-inbound');
    assert.ok(inbound);
    assert.deepEqual(envoy.extensions.transport_sockets.tls.v3.Secret.decode(inbound.bytes).validationContext?.matchTypedSubjectAltNames, []);
  });

  it('the Prometheus listener exists only where the namespace enabled metrics', () => {
    assert.ok(names(build('permissive', 'bookstore-v1'), 'listeners').includes('inbound-prometheus-listener'));
    assert.ok(names(build('permissive', 'bookstore-v1'), 'clusters').includes('envoy-metrics-cluster'));
    assert.ok(!names(build('permissive', 'bookwarehouse'), 'listeners').includes('inbound-prometheus-listener'));
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
