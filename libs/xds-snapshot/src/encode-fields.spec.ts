import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { envoy } from '@osm/envoy-api';
import { encodeClusterLoadAssignment, encodeOutboundChainField, encodeTrustedCa, encodeUpstreamCluster, encodeValidationSecret, encodeVirtualHostField } from './encode.ts';
import type { PartCache } from './encode.ts';
import type { ClusterPlan, OutboundChainPlan, VirtualHostPlan } from './plan.ts';
import { cluster, clusterLoadAssignment, outboundChain, validationSecret, virtualHost } from './resources.ts';

const Listener = envoy.config.listener.v3.Listener;
const RouteConfiguration = envoy.config.route.v3.RouteConfiguration;

// Lengths of 127/128 and 16,383/16,384 bytes cross a varint size, which moves the body of a nested field.
const long = (n: number): string => 'x'.repeat(n);

const chains: OutboundChainPlan[] = [
  { name: 'outbound_a/web_80_http', port: 80, prefixRanges: ['10.96.0.1/32', '0.0.0.0/0', 'fd00::1/128'], protocol: 'http', routeConfig: 'rds-outbound.80' },
  { name: '', port: 0, prefixRanges: [], protocol: 'http', routeConfig: '' },
  { name: 'outbound_ü/web_80_http', port: 65535, prefixRanges: ['10.0.0.1'], protocol: 'grpc', routeConfig: 'rds-outbound.ü' },
  { name: long(130), port: 8080, prefixRanges: Array.from({ length: 20 }, (_, i) => `10.1.${i}.0/24`), protocol: 'http', routeConfig: long(16_400) },
  { name: 'tcp', port: 5432, prefixRanges: ['10.96.0.2/32'], protocol: 'tcp', targets: [{ cluster: 'a/db|5432', weight: 1 }] },
  { name: 'tcp-empty', port: 5432, prefixRanges: ['10.96.0.2/32'], protocol: 'tcp', targets: [] },
  { name: 'tcp-split', port: 5432, prefixRanges: ['10.96.0.3/32'], protocol: 'tcp', targets: [{ cluster: 'a/db|5432', weight: 0 }, { cluster: '', weight: 70 }, { cluster: long(200), weight: 300_000 }] },
  { name: '', port: 1, prefixRanges: ['10.96.0.3/32'], protocol: 'tcp', targets: [{ cluster: '', weight: 1 }] },
  // MeshConfig tracing on: the HCM's tail carries the Zipkin config.
  { name: 'outbound_a/web_80_http', port: 80, prefixRanges: ['10.96.0.1/32'], protocol: 'http', routeConfig: 'rds-outbound.80', tracingEndpoint: '/api/v2/spans' },
  { name: 'outbound_a/api_9090_grpc', port: 9090, prefixRanges: ['10.96.0.4/32'], protocol: 'grpc', routeConfig: 'rds-outbound.9090', tracingEndpoint: '' },
  { name: long(130), port: 8080, prefixRanges: ['10.96.0.5/32'], protocol: 'http', routeConfig: long(200), tracingEndpoint: `/${long(16_390)}ü` },
];

const vhosts: VirtualHostPlan[] = [
  { name: 'v1', domains: ['web.a', 'web.a:80', ''], rules: [{ match: { pathRegex: '', methods: [], headers: [] }, targets: [{ cluster: 'a/web|80', weight: 1 }] }] },
  { name: '', domains: [], rules: [] },
  {
    name: 'split.ü',
    domains: [long(140)],
    rules: [
      { match: { pathRegex: '/books/.*', methods: ['GET', 'PUT'], headers: [['content-type', 'application/json'], ['', '']] }, targets: [{ cluster: 'a/v1|80', weight: 30 }, { cluster: 'a/v2|80', weight: 0 }, { cluster: '', weight: 70 }] },
      { match: { pathRegex: long(16_390), methods: [], headers: [['x', long(300)]] }, targets: [] },
      { match: { pathRegex: '', methods: ['POST'], headers: [] }, targets: [{ cluster: 'a/web|80', weight: 1 }] },
    ],
  },
  { name: 'rbac', domains: ['x.a'], rules: [{ match: { pathRegex: '/x', methods: [], headers: [] }, targets: [{ cluster: 'a/x|80', weight: 1 }], principals: ['spiffe://td/ns/a/sa/b'] }] },
];

describe('fields written without ts-proto equal its encoding', () => {
  chains.forEach((c, i) => {
    it(`outbound filter chain ${i} (${c.protocol}, ${c.prefixRanges.length} ranges${c.tracingEndpoint !== undefined ? ', tracing' : ''})`, () => {
      assert.deepEqual(encodeOutboundChainField(c), Listener.encode(Listener.fromPartial({ filterChains: [outboundChain(c)] })).finish());
    });
  });
  vhosts.forEach((vh, i) => {
    it(`virtual host ${i} (${vh.rules.length} rules)`, () => {
      assert.deepEqual(encodeVirtualHostField(vh), RouteConfiguration.encode(RouteConfiguration.fromPartial({ virtualHosts: [virtualHost(vh)] })).finish());
    });
  });
});

describe('secrets and endpoints written without ts-proto equal its encoding', () => {
  const bundles = ['mesh roots', '', `-----BEGIN CERTIFICATE-----\n${long(3000)}\n-----END CERTIFICATE-----\nü`];
  const sanLists: string[][] = [[], ['spiffe://cluster.local/ns/a/sa/b'], ['spiffe://td/ns/a/sa/b', '', long(200), 'spiffe://td/ns/ü/sa/x']];
  for (const [b, bundle] of bundles.entries()) {
    for (const [s, sans] of sanLists.entries()) {
      for (const prefix of [undefined, 'spiffe://cluster.local/ns/', '']) {
        it(`validation secret, bundle ${b}, SANs ${s}, prefix ${JSON.stringify(prefix)}`, () => {
          const name = s === 0 ? '' : `root-cert-for-mtls-outbound:a/web${'ü'.repeat(s)}`;
          const whole = envoy.extensions.transport_sockets.tls.v3.Secret.encode(validationSecret(name, bundle, sans, prefix)).finish();
          assert.deepEqual(encodeValidationSecret(name, encodeTrustedCa(bundle), sans, prefix), whole);
        });
      }
    }
  }
  const eds: [string, [string, number][]][] = [
    ['', []],
    ['', [['', 0]]],
    ['ns/many|80', Array.from({ length: 40 }, (_, i): [string, number] => [`10.0.${i}.${i}`, 8080 + i * 1000])],
    ['ns/ü|80', [['fd00::1', 0xffff]]],
  ];
  for (const [i, [name, endpoints]] of eds.entries()) {
    it(`cluster load assignment ${i} (${endpoints.length} endpoints)`, () => {
      const plan = { name, endpoints };
      assert.deepEqual(encodeClusterLoadAssignment(plan), envoy.config.endpoint.v3.ClusterLoadAssignment.encode(clusterLoadAssignment(plan)).finish());
    });
  }
});

describe('upstream clusters spliced from parts equal ts-proto encoding', () => {
  const noCache: PartCache = { part: (_space, _key, make) => make() };
  const names = ['a/web|80', '', 'ü/wéb|80', long(150)];
  for (const [i, name] of names.entries()) {
    it(`upstream cluster name ${i}`, () => {
      const plan: Extract<ClusterPlan, { kind: 'upstream' }> = { kind: 'upstream', name, protocol: 'http', sni: `${name}.svc`, validationSecret: `root-cert-for-mtls-outbound:${name}` };
      assert.deepEqual(encodeUpstreamCluster(noCache, plan), envoy.config.cluster.v3.Cluster.encode(cluster(plan)).finish());
    });
  }
});
