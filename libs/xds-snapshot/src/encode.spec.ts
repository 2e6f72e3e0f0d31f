import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { envoy } from '@osm/envoy-api';
import { encodeClusterLoadAssignment, encodeOutboundListener, encodeRouteConfiguration, encodeUpstreamCluster } from './encode.ts';
import type { PartCache } from './encode.ts';
import type { ClusterPlan, OutboundChainPlan, RouteConfigPlan } from './plan.ts';
import { cluster, clusterLoadAssignment, outboundListener, routeConfiguration } from './resources.ts';

const parts = (): PartCache & { hits: number } => {
  const m = new Map<string, Uint8Array>();
  const c = {
    hits: 0,
    part(space: string, k: string, make: () => Uint8Array): Uint8Array {
      const key = `${space}\n${k}`;
      const v = m.get(key);
      if (v) {
        c.hits++;
        return v;
      }
      const b = make();
      m.set(key, b);
      return b;
    },
  };
  return c;
};

const chains: OutboundChainPlan[] = [
  { name: 'outbound_a/web_80_http', port: 80, prefixRanges: ['10.96.0.1/32'], protocol: 'http', routeConfig: 'rds-outbound.80' },
  { name: 'outbound_a/db_5432_tcp', port: 5432, prefixRanges: ['10.96.0.2/32', 'fd00::2/128'], protocol: 'tcp', targets: [{ cluster: 'a/db|5432', weight: 1 }] },
  { name: 'outbound_a/split_5432_tcp', port: 5432, prefixRanges: ['10.96.0.3/32'], protocol: 'tcp', targets: [{ cluster: 'a/db|5432', weight: 30 }, { cluster: 'a/db2|5432', weight: 70 }] },
];
const rc: RouteConfigPlan = {
  name: 'rds-outbound.80',
  virtualHosts: [
    { name: 'v1', domains: ['web.a', 'web.a:80'], rules: [{ match: { pathRegex: '', methods: [], headers: [] }, targets: [{ cluster: 'a/web|80', weight: 1 }] }] },
    { name: 'v2', domains: ['x.a'], rules: [{ match: { pathRegex: '/x', methods: ['GET', 'PUT'], headers: [['h', 'v']] }, targets: [{ cluster: 'a/x|80', weight: 1 }], principals: ['spiffe://td/ns/a/sa/b'] }] },
  ],
};
const upstream = (protocol: 'http' | 'grpc' | 'tcp'): Extract<ClusterPlan, { kind: 'upstream' }> => ({
  kind: 'upstream',
  name: `a/web|80-${protocol}`,
  protocol,
  sni: 'web.a.svc.cluster.local',
  validationSecret: 'root-cert-for-mtls-outbound:a/web',
});

describe('encoding by concatenation equals encoding the whole message', () => {
  it('outbound listener, with and without egress, and reuses chain parts', () => {
    const p = parts();
    for (const egress of [false, true]) {
      const keys = chains.map((c) => JSON.stringify(c));
      const whole = envoy.config.listener.v3.Listener.encode(outboundListener(chains, egress)).finish();
      assert.deepEqual(encodeOutboundListener(p, chains, keys, egress), whole);
    }
    assert.ok(p.hits >= chains.length + 1, 'the second listener reused the head and chains');
  });
  it('route configuration', () => {
    const whole = envoy.config.route.v3.RouteConfiguration.encode(routeConfiguration(rc)).finish();
    assert.deepEqual(encodeRouteConfiguration(parts(), rc, rc.virtualHosts.map((v) => JSON.stringify(v))), whole);
  });
  for (const protocol of ['http', 'grpc', 'tcp'] as const) {
    it(`upstream cluster (${protocol})`, () => {
      const plan = upstream(protocol);
      assert.deepEqual(encodeUpstreamCluster(parts(), plan), envoy.config.cluster.v3.Cluster.encode(cluster(plan)).finish());
    });
  }
  const eds: [string, [string, number][]][] = [
    ['ns/empty|80', []],
    ['ns/web|80', [['10.0.0.1', 8080], ['10.0.0.2', 8080]]],
    ['ns/v6|443', [['fd00::1', 443], ['10.200.300.400', 65535], ['1.2.3.4', 1]]],
  ];
  for (const [name, endpoints] of eds) {
    it(`cluster load assignment ${name} (${endpoints.length} endpoints)`, () => {
      const plan = { name, endpoints };
      assert.deepEqual(encodeClusterLoadAssignment(plan), envoy.config.endpoint.v3.ClusterLoadAssignment.encode(clusterLoadAssignment(plan)).finish());
    });
  }
});
