// Random meshes for the property tests: services, ports, endpoints, proxies, policies, splits, settings.
import fc from 'fast-check';
import { keyOf, meshModel } from '@osm/mesh-model';
import type { MeshModel, MeshService, Protocol, Proxy } from '@osm/mesh-model';

const NAMESPACES = ['alpha', 'beta', 'gamma'];
const NAMES = ['api', 'db', 'web', 'cache', 'auth'];
const SAS = ['sa1', 'sa2', 'sa3'];

const identityArb = fc.record({ namespace: fc.constantFrom(...NAMESPACES), name: fc.constantFrom(...SAS) });
const portArb = fc.record({
  name: fc.constantFrom('', 'http', 'tcp-x'),
  port: fc.constantFrom(80, 8080, 3306),
  targetPort: fc.constantFrom(8080, 9090, 3306),
  protocol: fc.constantFrom<Protocol>('http', 'tcp', 'grpc', 'tcp-server-first'),
});
const endpointArb = fc.record({ ip: fc.constantFrom('10.1.0.1', '10.1.0.2', '10.1.0.3', '10.1.0.4', 'fd00::5'), port: fc.constantFrom(8080, 9090, 3306), ready: fc.boolean() });

const serviceArb = (namespace: string, name: string, index: number): fc.Arbitrary<MeshService> =>
  fc.record({
    namespace: fc.constant(namespace),
    name: fc.constant(name),
    ports: fc.array(portArb, { minLength: 1, maxLength: 3 }),
    // Mostly ClusterIP services, some headless (their endpoint IPs go into the outbound filter chains).
    clusterIps: fc.constantFrom([`10.96.${NAMESPACES.indexOf(namespace)}.${index}`], [`10.96.${NAMESPACES.indexOf(namespace)}.${index}`], []),
    identities: fc.array(identityArb, { maxLength: 2 }),
  });

/** Random meshes over a few namespaces, names and service accounts, so that policies often apply. */
export const meshArb: fc.Arbitrary<MeshModel> = fc
  .uniqueArray(fc.tuple(fc.constantFrom(...NAMESPACES), fc.constantFrom(...NAMES)), { minLength: 1, maxLength: 8, selector: ([ns, n]) => `${ns}/${n}` })
  .chain((keys) => {
    const services = fc.tuple(...keys.map(([ns, n], i) => serviceArb(ns, n, i + 1)));
    const ref = fc.constantFrom(...keys.map(([namespace, name]) => ({ namespace, name })));
    const match = fc.record({ name: fc.constantFrom('m1', 'm2', 'm3'), pathRegex: fc.option(fc.constantFrom('/a', '/b.*', '.*'), { nil: undefined }), methods: fc.subarray(['GET', 'POST', '*']), headers: fc.dictionary(fc.constantFrom('x-a', 'x-b', 'X-A'), fc.constantFrom('1', '2')) });
    return fc.record({
      permissive: fc.boolean(),
      egress: fc.boolean(),
      // MeshConfig sidecar tracing: mostly off (the default), sometimes on with one of two collectors.
      tracing: fc.option(
        fc.record({ address: fc.constantFrom('jaeger.osm-system.svc.cluster.local', 'zipkin.tracing'), port: fc.constantFrom(9411, 14_411), endpoint: fc.constantFrom('/api/v2/spans', '/zipkin/v2') }),
        { nil: undefined, freq: 3 },
      ),
      services,
      endpoints: fc.array(fc.record({ service: ref, endpoints: fc.array(endpointArb, { maxLength: 4 }) }), { maxLength: 8 }),
      proxies: fc.uniqueArray(
        fc.record({ uuid: fc.constantFrom('p1', 'p2', 'p3', 'p4'), identity: identityArb, podName: fc.constant('pod'), services: fc.array(ref, { maxLength: 3 }), prometheusScrape: fc.boolean() }),
        { minLength: 1, maxLength: 4, selector: (p) => p.uuid },
      ),
      groups: fc.uniqueArray(fc.record({ namespace: fc.constantFrom(...NAMESPACES), name: fc.constantFrom('g1', 'g2'), matches: fc.uniqueArray(match, { maxLength: 3, selector: (m) => m.name }) }), { maxLength: 3, selector: keyOf }),
      tcpRoutes: fc.uniqueArray(fc.record({ namespace: fc.constantFrom(...NAMESPACES), name: fc.constantFrom('t1', 't2'), matches: fc.array(fc.record({ name: fc.constantFrom('m1', 'm2'), ports: fc.subarray([3306, 8080, 9090]) }), { maxLength: 2 }) }), { maxLength: 3, selector: keyOf }),
      targets: fc.uniqueArray(
        fc.record({
          namespace: fc.constantFrom(...NAMESPACES),
          name: fc.constantFrom('tt1', 'tt2', 'tt3'),
          destination: fc.record({ kind: fc.constant('ServiceAccount' as const), namespace: fc.constantFrom(...NAMESPACES), name: fc.constantFrom(...SAS), port: fc.option(fc.constantFrom(8080, 3306), { nil: undefined }) }),
          sources: fc.array(fc.record({ kind: fc.constant('ServiceAccount' as const), namespace: fc.constantFrom(...NAMESPACES), name: fc.constantFrom(...SAS) }), { maxLength: 3 }),
          rules: fc.array(fc.record({ kind: fc.constantFrom('HTTPRouteGroup' as const, 'TCPRoute' as const), name: fc.constantFrom('g1', 'g2', 't1', 't2'), matches: fc.subarray(['m1', 'm2', 'm3']) }), { maxLength: 3 }),
        }),
        { maxLength: 5, selector: keyOf },
      ),
      splits: fc.uniqueArray(
        fc.record({ namespace: fc.constantFrom(...NAMESPACES), name: fc.constantFrom('s1', 's2'), apexService: fc.constantFrom(...NAMES), backends: fc.array(fc.record({ service: fc.constantFrom(...NAMES), weight: fc.integer({ min: 0, max: 100 }) }), { maxLength: 3 }) }),
        { maxLength: 3, selector: keyOf },
      ),
    });
  })
  .map((m) =>
    meshModel({
      settings: { permissiveMode: m.permissive, enableEgress: m.egress, ...(m.tracing ? { tracing: m.tracing } : {}) },
      namespaces: NAMESPACES.map((name) => ({ name })),
      services: m.services,
      // Unique by service, as the catalog's map is.
      endpoints: [...new Map(m.endpoints.map((e) => [keyOf(e.service), e])).values()],
      proxies: m.proxies.map((p): Proxy => ({ ...p, namespace: p.identity.namespace })),
      httpRouteGroups: m.groups,
      tcpRoutes: m.tcpRoutes,
      trafficTargets: m.targets,
      trafficSplits: m.splits,
    }),
  );
