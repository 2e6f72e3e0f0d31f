// The independent Envoy-rule check (envoy-check, go-control-plane's types) over every snapshot of the
// bookstore mesh (the same snapshots as xds-snapshot's golden dumps), and over deliberately broken
// resources, each of which must fail with the rule, field and reason Envoy would give. (mesh-catalog's
// golden snapshots, built from Kubernetes objects, are checked in its own test/golden.spec.ts.)
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { envoy, packAny, typeUrlOf, unpackAny } from '@osm/envoy-api';
import { checkEnvoyBootstrap, checkEnvoyResources, formatEnvoyProblems, xdsGoBinaries, type EnvoyProblem, type EnvoyResource } from '@osm/testing';
import { buildSnapshot, type Snapshot } from '@osm/xds-snapshot';
// The bookstore mesh is xds-snapshot's own test fixture (its golden dumps are built from it), which the
// package exports for tests as `@osm/xds-snapshot/testing` (it cannot live in @osm/testing: xds-snapshot's
// tests would then depend on @osm/testing, which depends on xds-snapshot).
import { bookstoreModel, inputsFor, proxies } from '@osm/xds-snapshot/testing';

const { Cluster } = envoy.config.cluster.v3;
const { Listener } = envoy.config.listener.v3;
const { RouteConfiguration } = envoy.config.route.v3;
const { HttpConnectionManager } = envoy.extensions.filters.network.http_connection_manager.v3;
const { Router } = envoy.extensions.filters.http.router.v3;
const { RegexMatcher } = envoy.type.matcher.v3;

const CLUSTER = typeUrlOf(Cluster);
const LISTENER = typeUrlOf(Listener);
const ROUTE = typeUrlOf(RouteConfiguration);
const SECRET = typeUrlOf(envoy.extensions.transport_sockets.tls.v3.Secret);

function snapshotOf(mode: 'permissive' | 'smi', name: keyof typeof proxies): Snapshot {
  const proxy = proxies[name];
  return buildSnapshot(bookstoreModel(mode), proxy, inputsFor(proxy));
}

function list(snapshot: Snapshot): EnvoyResource[] {
  return Object.values(snapshot.types).flatMap((set) => [...set.resources.values()]);
}

interface Codec<M> {
  decode(bytes: Uint8Array): M;
  encode(message: M): { finish(): Uint8Array };
}

/** The resources with one of them decoded, changed by `change`, and encoded again. */
function mutate<M>(resources: readonly EnvoyResource[], typeUrl: string, name: string, codec: Codec<M>, change: (m: M) => void): EnvoyResource[] {
  let found = false;
  const out = resources.map((r) => {
    if (r.typeUrl !== typeUrl || r.name !== name) return r;
    found = true;
    const message = codec.decode(r.bytes);
    change(message);
    return { typeUrl: r.typeUrl, name: r.name, bytes: codec.encode(message).finish() };
  });
  assert.ok(found, `no ${typeUrl} ${name} to change`);
  return out;
}

function only(problems: readonly EnvoyProblem[], rule: string): EnvoyProblem[] {
  return problems.filter((p) => p.rule === rule);
}

for (const mode of ['permissive', 'smi'] as const) {
  describe(`envoy-check: every bookstore snapshot passes Envoy's rules (${mode})`, () => {
    before(async () => {
      await xdsGoBinaries(); // the first build compiles go-control-plane (minutes), once
    });
    for (const name of Object.keys(proxies) as (keyof typeof proxies)[]) {
      it(`${name} (xds-snapshot test/golden/${mode}/${name}.yaml)`, async () => {
        const snapshot = snapshotOf(mode, name);
        const report = await checkEnvoyResources(snapshot);
        assert.deepEqual(report.problems, [], formatEnvoyProblems(report.problems));
        assert.equal(report.ok, true);
      });
    }
  });
}

describe("envoy-check: MeshConfig tracing on (OSM's Zipkin config and envoy-tracing-cluster) passes Envoy's rules", () => {
  const tracedSnapshot = (mode: 'permissive' | 'smi', name: keyof typeof proxies): Snapshot => {
    const base = bookstoreModel(mode);
    const model = { ...base, settings: { ...base.settings, tracing: { address: 'jaeger.osm-system.svc.cluster.local', port: 9411, endpoint: '/api/v2/spans' } } };
    return buildSnapshot(model, proxies[name], inputsFor(proxies[name]));
  };
  for (const mode of ['permissive', 'smi'] as const) {
    for (const name of Object.keys(proxies) as (keyof typeof proxies)[]) {
      it(`${name} (${mode})`, async () => {
        const snapshot = tracedSnapshot(mode, name);
        assert.ok(snapshot.types.clusters.resources.has('envoy-tracing-cluster'));
        const report = await checkEnvoyResources(snapshot);
        assert.deepEqual(report.problems, [], formatEnvoyProblems(report.problems));
        assert.equal(report.ok, true);
      });
    }
  }

  it('the checker reads the Zipkin config inside the HCM: one that does not decode is reported there', async () => {
    const broken = mutate(list(tracedSnapshot('smi', 'bookbuyer')), LISTENER, 'outbound-listener', Listener, (l) => {
      const filter = l.filterChains[0]?.filters[0];
      assert.ok(filter?.typedConfig);
      const hcm = unpackAny(filter.typedConfig) as envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
      const zipkin = hcm.tracing?.provider?.typedConfig;
      assert.equal(zipkin?.typeUrl, 'type.googleapis.com/envoy.config.trace.v3.ZipkinConfig');
      zipkin.value = Uint8Array.of(0x0a, 0xff, 0xff);
      filter.typedConfig = packAny(HttpConnectionManager, hcm);
    });
    const report = await checkEnvoyResources(broken);
    assert.deepEqual(report.problems.map((p) => [p.name, p.field, p.rule]), [['outbound-listener', 'filter_chains[0].filters[0].typed_config.tracing.provider.typed_config', 'any']], formatEnvoyProblems(report.problems));
    assert.match(report.problems[0]?.message ?? '', /ZipkinConfig": its value does not decode as that message/);
  });
});

describe('envoy-check: broken resources fail with the rule Envoy applies', () => {
  // bookbuyer in SMI mode: EDS clusters with TLS over SDS, one outbound listener with RDS, routes with regexes.
  const base = list(snapshotOf('smi', 'bookbuyer'));
  const cluster = 'bookstore/bookstore-v1|14001';

  it('the unbroken base passes', async () => {
    const report = await checkEnvoyResources(base);
    assert.deepEqual(report.problems, [], formatEnvoyProblems(report.problems));
  });

  it('an empty cluster name breaks PGV (min_len 1)', async () => {
    const broken = mutate(base, CLUSTER, cluster, Cluster, (c) => {
      c.name = '';
    });
    const report = await checkEnvoyResources(broken);
    assert.equal(report.ok, false);
    const problem = only(report.problems, 'validate').find((p) => p.typeUrl === CLUSTER && p.field === 'name');
    assert.ok(problem, formatEnvoyProblems(report.problems));
    assert.match(problem.message, /value length must be at least 1 runes .*envoy\.config\.cluster\.v3\.Cluster/);
  });

  it('a route to a missing cluster is reported at the route', async () => {
    const broken = mutate(base, ROUTE, 'rds-outbound.14001', RouteConfiguration, (rc) => {
      const action = rc.virtualHosts[1]?.routes[0]?.route;
      assert.equal(action?.cluster, cluster);
      action.cluster = 'bookstore/missing|14001';
    });
    const report = await checkEnvoyResources(broken);
    assert.deepEqual(
      report.problems.map((p) => [p.typeUrl, p.name, p.field, p.rule]),
      [[ROUTE, 'rds-outbound.14001', 'virtual_hosts[1].routes[0].route.cluster', 'reference']],
      formatEnvoyProblems(report.problems),
    );
    assert.match(report.problems[0]?.message ?? '', /names cluster "bookstore\/missing\|14001", which is not among the proxy's clusters \(CDS\)/);
  });

  it('a regex RE2 rejects (lookahead) is reported at the regex', async () => {
    const broken = mutate(base, ROUTE, 'rds-outbound.14001', RouteConfiguration, (rc) => {
      // Outbound routes match every path (OSM's wildcard); give the first one a path regex.
      const match = rc.virtualHosts[0]?.routes[0]?.match;
      assert.ok(match);
      match.prefix = undefined;
      match.safeRegex = RegexMatcher.fromPartial({ regex: '/books(?=-bought)' });
    });
    const report = await checkEnvoyResources(broken);
    assert.deepEqual(report.problems.map((p) => [p.field, p.rule]), [['virtual_hosts[0].routes[0].match.safe_regex.regex', 'regex']], formatEnvoyProblems(report.problems));
    assert.match(report.problems[0]?.message ?? '', /regex "\/books\(\?=-bought\)" is not valid RE2.*invalid or unsupported Perl syntax/);
  });

  it('a regex whose RE2 program is too large for Envoy is reported', async () => {
    const broken = mutate(base, ROUTE, 'rds-outbound.14001', RouteConfiguration, (rc) => {
      const match = rc.virtualHosts[0]?.routes[0]?.match;
      assert.ok(match);
      match.prefix = undefined;
      match.safeRegex = RegexMatcher.fromPartial({ regex: '(a|b|c|d){60}' });
    });
    const report = await checkEnvoyResources(broken);
    assert.deepEqual(report.problems.map((p) => p.rule), ['regex'], formatEnvoyProblems(report.problems));
    assert.match(report.problems[0]?.message ?? '', /RE2 program size of \d+ by Go.s count .*> max program size of 100/);
  });

  it('an HCM naming a missing route configuration fails the reference and Consistent()', async () => {
    const broken = mutate(base, LISTENER, 'outbound-listener', Listener, (l) => {
      const filter = l.filterChains[0]?.filters[0];
      assert.ok(filter?.typedConfig);
      const hcm = unpackAny(filter.typedConfig) as envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
      assert.ok(hcm.rds);
      hcm.rds.routeConfigName = 'rds-missing';
      filter.typedConfig = packAny(HttpConnectionManager, hcm);
    });
    const report = await checkEnvoyResources(broken);
    const reference = only(report.problems, 'reference');
    assert.deepEqual(reference.map((p) => [p.name, p.field]), [['outbound-listener', 'filter_chains[0].filters[0].typed_config.rds.route_config_name']], formatEnvoyProblems(report.problems));
    assert.match(reference[0]?.message ?? '', /needs RouteConfiguration "rds-missing".*keeps the listener warming/);
    const consistent = only(report.problems, 'consistent');
    assert.equal(consistent.length, 1, formatEnvoyProblems(report.problems));
    assert.match(consistent[0]?.message ?? '', /Consistent\(\) fails: .*RouteConfiguration/);
  });

  it('a missing secret is reported at the TLS context that names it', async () => {
    const secret = 'root-cert-for-mtls-outbound:bookstore/bookstore-v1';
    const broken = base.filter((r) => !(r.typeUrl === SECRET && r.name === secret));
    assert.equal(broken.length, base.length - 1);
    const report = await checkEnvoyResources(broken);
    assert.deepEqual(
      report.problems.map((p) => [p.typeUrl, p.name, p.field, p.rule]),
      [[CLUSTER, cluster, 'transport_socket.typed_config.common_tls_context.validation_context_sds_secret_config.name', 'reference']],
      formatEnvoyProblems(report.problems),
    );
    assert.match(report.problems[0]?.message ?? '', /needs secret "root-cert-for-mtls-outbound:bookstore\/bookstore-v1"/);
  });

  it('a secret of the wrong kind is reported', async () => {
    const secret = 'root-cert-for-mtls-outbound:bookstore/bookstore-v1';
    const tlsCertificate = base.find((r) => r.typeUrl === SECRET && r.name === 'service-cert');
    assert.ok(tlsCertificate);
    const { Secret } = envoy.extensions.transport_sockets.tls.v3;
    const wrong = Secret.decode(tlsCertificate.bytes);
    wrong.name = secret;
    const broken = base.map((r) => (r.typeUrl === SECRET && r.name === secret ? { typeUrl: r.typeUrl, name: r.name, bytes: Secret.encode(wrong).finish() } : r));
    const report = await checkEnvoyResources(broken);
    assert.deepEqual(report.problems.map((p) => [p.name, p.rule]), [[cluster, 'reference']], formatEnvoyProblems(report.problems));
    assert.match(report.problems[0]?.message ?? '', /holds a tls_certificate, not the validation_context this TLS context needs/);
  });

  it('an Any of a type Envoy does not know is reported', async () => {
    const broken = mutate(base, CLUSTER, cluster, Cluster, (c) => {
      assert.ok(c.transportSocket?.typedConfig);
      c.transportSocket.typedConfig.typeUrl = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.NoSuchTlsContext';
    });
    const report = await checkEnvoyResources(broken);
    const any = only(report.problems, 'any');
    assert.deepEqual(any.map((p) => [p.name, p.field]), [[cluster, 'transport_socket.typed_config']], formatEnvoyProblems(report.problems));
    assert.match(any[0]?.message ?? '', /NoSuchTlsContext": no Envoy API message has that name/);
  });

  it('an Any whose value does not decode as its type is reported', async () => {
    const broken = mutate(base, CLUSTER, cluster, Cluster, (c) => {
      assert.ok(c.transportSocket?.typedConfig);
      c.transportSocket.typedConfig.value = Uint8Array.of(0x0a, 0xff, 0xff);
    });
    const report = await checkEnvoyResources(broken);
    const any = only(report.problems, 'any');
    assert.equal(any.length, 1, formatEnvoyProblems(report.problems));
    assert.match(any[0]?.message ?? '', /UpstreamTlsContext": its value does not decode as that message/);
  });

  it('PGV rules inside a nested Any are applied (an HCM without stat_prefix)', async () => {
    const broken = mutate(base, LISTENER, 'outbound-listener', Listener, (l) => {
      const filter = l.filterChains[0]?.filters[0];
      assert.ok(filter?.typedConfig);
      const hcm = unpackAny(filter.typedConfig) as envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
      hcm.statPrefix = '';
      filter.typedConfig = packAny(HttpConnectionManager, hcm);
    });
    const report = await checkEnvoyResources(broken);
    assert.deepEqual(report.problems.map((p) => [p.field, p.rule]), [['filter_chains[0].filters[0].typed_config.stat_prefix', 'validate']], formatEnvoyProblems(report.problems));
  });

  it('the router before another HTTP filter breaks the terminal-filter rule', async () => {
    const broken = mutate(base, LISTENER, 'outbound-listener', Listener, (l) => {
      const filter = l.filterChains[0]?.filters[0];
      assert.ok(filter?.typedConfig);
      const hcm = unpackAny(filter.typedConfig) as envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
      hcm.httpFilters.push({ name: 'envoy.filters.http.router.again', typedConfig: packAny(Router, Router.fromPartial({})), isOptional: false, disabled: false });
      filter.typedConfig = packAny(HttpConnectionManager, hcm);
    });
    const report = await checkEnvoyResources(broken);
    assert.deepEqual(report.problems.map((p) => [p.field, p.rule]), [['filter_chains[0].filters[0].typed_config.http_filters[0]', 'envoy']], formatEnvoyProblems(report.problems));
    assert.match(report.problems[0]?.message ?? '', /terminal filter named envoy\.filters\.http\.router of type envoy\.extensions\.filters\.http\.router\.v3\.Router must be the last filter in a http filter chain/);
  });

  it('two filter chains with the same match and a duplicate domain are reported', async () => {
    const withDuplicateChain = mutate(base, LISTENER, 'outbound-listener', Listener, (l) => {
      const first = l.filterChains[0];
      assert.ok(first);
      l.filterChains.push({ ...first, name: 'copy' });
    });
    const chains = await checkEnvoyResources(withDuplicateChain);
    assert.deepEqual(chains.problems.map((p) => [p.field, p.rule]), [['filter_chains[3].filter_chain_match', 'unique']], formatEnvoyProblems(chains.problems));
    assert.match(chains.problems[0]?.message ?? '', /matches the same connections as filter_chains\[0\].*multiple filter chains with the same matching rules are defined/);

    const withDuplicateDomain = mutate(base, ROUTE, 'rds-outbound.14001', RouteConfiguration, (rc) => {
      rc.virtualHosts[1]?.domains.push('bookstore.bookstore');
    });
    const domains = await checkEnvoyResources(withDuplicateDomain);
    assert.deepEqual(domains.problems.map((p) => [p.field, p.rule]), [['virtual_hosts[1].domains[8]', 'unique']], formatEnvoyProblems(domains.problems));
    assert.match(domains.problems[0]?.message ?? '', /Only unique values for domains are permitted\. Duplicate entry of domain bookstore\.bookstore in route rds-outbound\.14001/);
  });

  it('a resource sent under another name than its own, and a name sent twice, are reported', async () => {
    const first = base.find((r) => r.typeUrl === CLUSTER);
    assert.ok(first);
    const report = await checkEnvoyResources([...base.filter((r) => r !== first), { typeUrl: first.typeUrl, name: 'renamed', bytes: first.bytes }, first, first]);
    assert.deepEqual(
      report.problems.map((p) => [p.name, p.rule]),
      [
        [first.name, 'unique'],
        [first.name, 'unique'],
        ['renamed', 'type'],
      ],
      formatEnvoyProblems(report.problems),
    );
  });
});

describe('envoy-check: bootstrap', () => {
  // An OSM-shaped sidecar bootstrap (pkg/envoy/bootstrap/config.go): ADS over a static cluster.
  const bootstrap = (adsCluster: string) => ({
    node: { id: '00000000-0000-4000-8000-00000000b001.sidecar.bookbuyer.bookbuyer.cluster.local' },
    admin: { address: { socketAddress: { address: '127.0.0.1', portValue: 15000 } } },
    dynamicResources: {
      adsConfig: { apiType: 'GRPC', transportApiVersion: 'V3', grpcServices: [{ envoyGrpc: { clusterName: adsCluster } }], setNodeOnFirstMessageOnly: true },
      cdsConfig: { ads: {}, resourceApiVersion: 'V3' },
      ldsConfig: { ads: {}, resourceApiVersion: 'V3' },
    },
    staticResources: {
      clusters: [
        {
          name: 'osm-controller',
          type: 'LOGICAL_DNS',
          connectTimeout: '1s',
          loadAssignment: {
            clusterName: 'osm-controller',
            endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: 'osm-controller.osm-system.svc.cluster.local', portValue: 15128 } } } }] }],
          },
          typedExtensionProtocolOptions: {
            'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
              '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
              explicitHttpConfig: { http2ProtocolOptions: {} },
            },
          },
          transportSocket: {
            name: 'envoy.transport_sockets.tls',
            typedConfig: {
              '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
              commonTlsContext: {
                alpnProtocols: ['h2'],
                tlsCertificateSdsSecretConfigs: [{ name: 'tls_sds', sdsConfig: { pathConfigSource: { path: '/etc/envoy/tls_certificate_sds_secret.yaml' } } }],
                validationContextSdsSecretConfig: { name: 'validation_context_sds', sdsConfig: { pathConfigSource: { path: '/etc/envoy/validation_context_sds_secret.yaml' } } },
              },
            },
          },
        },
      ],
    },
  });

  it('a bootstrap with its ADS cluster defined statically passes', async () => {
    const report = await checkEnvoyBootstrap(bootstrap('osm-controller'));
    assert.deepEqual(report.problems, [], formatEnvoyProblems(report.problems));
  });

  it('ADS over a cluster that is not static fails as Envoy fails it', async () => {
    const report = await checkEnvoyBootstrap(bootstrap('osm-controler'));
    assert.deepEqual(report.problems.map((p) => [p.field, p.rule]), [['dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name', 'reference']], formatEnvoyProblems(report.problems));
    assert.match(report.problems[0]?.message ?? '', /must have a statically defined non-EDS cluster: 'osm-controler' does not exist/);
  });

  it('a bootstrap that is not Envoy JSON is a decode problem', async () => {
    const report = await checkEnvoyBootstrap({ staticResources: { clusters: [{ name: 'x', connectTimeout: 'soon' }] } });
    assert.deepEqual(report.problems.map((p) => p.rule), ['decode'], formatEnvoyProblems(report.problems));
  });
});
