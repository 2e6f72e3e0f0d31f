// A bootstrap (xDS client) certificate must never pass as a workload. Proven on the encoded config:
// the bookstore mesh is built with @osm/xds-snapshot in permissive and SMI mode, every resource of
// every proxy is decoded with @osm/envoy-api (nested Any included), every principal and SAN matcher
// the builder emits is collected (RBAC principals of network and HTTP filters and per-route configs,
// match_typed_subject_alt_names and match_subject_alt_names of every validation context), and each
// is evaluated the way Envoy evaluates it against real certificates issued by LocalCertificateAuthority:
// none may match any proxy's bootstrap certificate, while the service certificate of the same identity
// matches where access is granted.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { envoy, unpackAny } from '@osm/envoy-api';
import { meshModel, type Endpoint, type MeshModel, type MeshService, type Proxy, type ServiceIdentity } from '@osm/mesh-model';
import { buildSnapshot, RESOURCE_TYPES, type Snapshot } from '@osm/xds-snapshot';
import { LocalCertificateAuthority } from '../src/authority.ts';
import type { CertificateSubject } from '../src/identity.ts';
import { x509 } from '../src/peculiar.ts';
import { countingRandom, DAY, makeSigningCA, T0 } from './fixtures.ts';

// ---- The bookstore mesh (OSM's demo): bookbuyer and bookthief call bookstore (split over v1 and v2),
// bookstore calls bookwarehouse over HTTP, bookwarehouse calls mysql over TCP. SMI allows bookbuyer
// (not bookthief) to bookstore, both bookstores to bookwarehouse, bookwarehouse to mysql.
const sa = (namespace: string, name: string): ServiceIdentity => ({ namespace, name });
const ids = {
  bookbuyer: sa('bookbuyer', 'bookbuyer'),
  bookthief: sa('bookthief', 'bookthief'),
  bookstore: sa('bookstore', 'bookstore'),
  bookstoreV2: sa('bookstore', 'bookstore-v2'),
  bookwarehouse: sa('bookwarehouse', 'bookwarehouse'),
  mysql: sa('bookwarehouse', 'mysql'),
};
const svc = (namespace: string, name: string, ip: string, port: number, protocol: 'http' | 'tcp', identities: ServiceIdentity[]): MeshService => ({
  namespace,
  name,
  ports: [{ name: `${protocol}-${name}`, port, targetPort: port, protocol }],
  clusterIps: [ip],
  identities,
});
const ep = (ip: string, port: number): Endpoint => ({ ip, port, ready: true });
const proxy = (n: number, identity: ServiceIdentity, services: string[]): Proxy => ({
  uuid: `00000000-0000-4000-8000-00000000b00${n}`,
  identity,
  namespace: identity.namespace,
  podName: `${identity.name}-${n}`,
  services: services.map((name) => ({ namespace: identity.namespace, name })),
  prometheusScrape: false,
});
const proxies = {
  bookbuyer: proxy(1, ids.bookbuyer, []),
  bookthief: proxy(2, ids.bookthief, []),
  bookstoreV1: proxy(3, ids.bookstore, ['bookstore', 'bookstore-v1']),
  bookstoreV2: proxy(4, ids.bookstoreV2, ['bookstore', 'bookstore-v2']),
  bookwarehouse: proxy(5, ids.bookwarehouse, ['bookwarehouse']),
  mysql: proxy(6, ids.mysql, ['mysql']),
};
const src = (id: ServiceIdentity) => ({ kind: 'ServiceAccount' as const, ...id });

function bookstore(permissiveMode: boolean): MeshModel {
  return meshModel({
    settings: { permissiveMode },
    namespaces: ['bookbuyer', 'bookthief', 'bookstore', 'bookwarehouse'].map((name) => ({ name, metricsEnabled: false })),
    services: [
      svc('bookstore', 'bookstore', '10.96.0.10', 14001, 'http', [ids.bookstore, ids.bookstoreV2]),
      svc('bookstore', 'bookstore-v1', '10.96.0.11', 14001, 'http', [ids.bookstore]),
      svc('bookstore', 'bookstore-v2', '10.96.0.12', 14001, 'http', [ids.bookstoreV2]),
      svc('bookwarehouse', 'bookwarehouse', '10.96.0.20', 14001, 'http', [ids.bookwarehouse]),
      svc('bookwarehouse', 'mysql', '10.96.0.30', 3306, 'tcp', [ids.mysql]),
    ],
    endpoints: [
      { service: { namespace: 'bookstore', name: 'bookstore' }, endpoints: [ep('10.1.0.11', 14001), ep('10.1.0.12', 14001)] },
      { service: { namespace: 'bookstore', name: 'bookstore-v1' }, endpoints: [ep('10.1.0.11', 14001)] },
      { service: { namespace: 'bookstore', name: 'bookstore-v2' }, endpoints: [ep('10.1.0.12', 14001)] },
      { service: { namespace: 'bookwarehouse', name: 'bookwarehouse' }, endpoints: [ep('10.1.0.21', 14001)] },
      { service: { namespace: 'bookwarehouse', name: 'mysql' }, endpoints: [ep('10.1.0.31', 3306)] },
    ],
    proxies: Object.values(proxies),
    httpRouteGroups: [
      { namespace: 'bookstore', name: 'bookstore-service-routes', matches: [{ name: 'buy-a-book', pathRegex: '.*a-book.*new', methods: ['GET'], headers: {} }] },
      { namespace: 'bookwarehouse', name: 'bookwarehouse-service-routes', matches: [{ name: 'restock-books', pathRegex: '/restock-books', methods: ['POST'], headers: {} }] },
    ],
    tcpRoutes: [{ namespace: 'bookwarehouse', name: 'mysql', matches: [{ name: 'mysql', ports: [3306] }] }],
    trafficTargets: [
      { namespace: 'bookstore', name: 'bookbuyer-access-bookstore', destination: src(ids.bookstore), sources: [src(ids.bookbuyer)], rules: [{ kind: 'HTTPRouteGroup', name: 'bookstore-service-routes', matches: ['buy-a-book'] }] },
      { namespace: 'bookstore', name: 'bookbuyer-access-bookstore-v2', destination: src(ids.bookstoreV2), sources: [src(ids.bookbuyer)], rules: [{ kind: 'HTTPRouteGroup', name: 'bookstore-service-routes', matches: ['buy-a-book'] }] },
      {
        namespace: 'bookwarehouse',
        name: 'bookstore-access-bookwarehouse',
        destination: src(ids.bookwarehouse),
        sources: [src(ids.bookstore), src(ids.bookstoreV2)],
        rules: [{ kind: 'HTTPRouteGroup', name: 'bookwarehouse-service-routes', matches: ['restock-books'] }],
      },
      { namespace: 'bookwarehouse', name: 'bookwarehouse-access-mysql', destination: src(ids.mysql), sources: [src(ids.bookwarehouse)], rules: [{ kind: 'TCPRoute', name: 'mysql', matches: [] }] },
    ],
    trafficSplits: [{ namespace: 'bookstore', name: 'bookstore-split', apexService: 'bookstore', backends: [{ service: 'bookstore-v1', weight: 50 }, { service: 'bookstore-v2', weight: 50 }] }],
  });
}

// ---- Certificates as Envoy sees a peer: its URI SANs, DNS SANs and subject (RFC 2253).
interface Peer {
  readonly label: string;
  readonly uris: readonly string[];
  readonly dnsNames: readonly string[];
  readonly ips: readonly string[];
  readonly emails: readonly string[];
  readonly subject: string;
}

function peerOf(label: string, pem: string): Peer {
  const cert = new x509.X509Certificate(pem);
  const names = cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? [];
  const of = (type: string): string[] => names.filter((n) => n.type === type).map((n) => n.value);
  return { label, uris: of('url'), dnsNames: of('dns'), ips: of('ip'), emails: of('email'), subject: cert.subject };
}

// ---- Envoy's matchers.
type StringMatcher = envoy.type.matcher.v3.StringMatcher;
type Principal = envoy.config.rbac.v3.Principal;
type SanMatcher = envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
const SanType = envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher_SanType;

function stringMatches(m: StringMatcher, value: string): boolean {
  const fold = (s: string): string => (m.ignoreCase ? s.toLowerCase() : s);
  if (m.exact !== undefined) return fold(value) === fold(m.exact);
  if (m.prefix !== undefined) return fold(value).startsWith(fold(m.prefix));
  if (m.suffix !== undefined) return fold(value).endsWith(fold(m.suffix));
  if (m.contains !== undefined) return fold(value).includes(fold(m.contains));
  // RE2 full match; the patterns the builder could emit here are also valid JavaScript patterns.
  if (m.safeRegex !== undefined) return new RegExp(`^(?:${m.safeRegex.regex})$`, m.ignoreCase ? 'i' : '').test(value);
  throw new Error(`string matcher of an unknown kind: ${JSON.stringify(envoy.type.matcher.v3.StringMatcher.toJSON(m))}`);
}

/** Yes, no, or maybe (it depends on request attributes a client controls, such as its address or headers). */
type Verdict = 'yes' | 'no' | 'maybe';

/**
 * Envoy's RBAC principal for a peer certificate. `authenticated.principal_name` is matched against the
 * URI SANs, then the DNS SANs, then the subject (Envoy's AuthenticatedMatcher); we count a match on any
 * of the three, a superset of every order Envoy has used, so "no" here is "no" in Envoy.
 */
function principalMatches(p: Principal, peer: Peer): Verdict {
  if (p.any !== undefined) return p.any ? 'yes' : 'no';
  if (p.authenticated !== undefined) {
    const name = p.authenticated.principalName;
    if (!name) return 'yes'; // any authenticated peer
    return [...peer.uris, ...peer.dnsNames, peer.subject].some((v) => stringMatches(name, v)) ? 'yes' : 'no';
  }
  if (p.orIds !== undefined) {
    const verdicts = p.orIds.ids.map((id) => principalMatches(id, peer));
    return verdicts.includes('yes') ? 'yes' : verdicts.includes('maybe') ? 'maybe' : 'no';
  }
  if (p.andIds !== undefined) {
    const verdicts = p.andIds.ids.map((id) => principalMatches(id, peer));
    return verdicts.includes('no') ? 'no' : verdicts.every((v) => v === 'yes') ? 'yes' : 'maybe';
  }
  if (p.notId !== undefined) {
    const inner = principalMatches(p.notId, peer);
    return inner === 'yes' ? 'no' : inner === 'no' ? 'yes' : 'maybe';
  }
  // Addresses, headers, paths, metadata, filter state: not identity, a client may satisfy them.
  return 'maybe';
}

/** A SAN matcher of a validation context (match_typed_subject_alt_names) for a peer certificate. */
function sanMatches(m: SanMatcher, peer: Peer): boolean {
  if (!m.matcher) throw new Error('SAN matcher without a string matcher');
  const values = { [SanType.DNS]: peer.dnsNames, [SanType.URI]: peer.uris, [SanType.IP_ADDRESS]: peer.ips, [SanType.EMAIL]: peer.emails }[m.sanType as number];
  if (!values) throw new Error(`SAN matcher of type ${m.sanType} is not evaluated here`);
  return values.some((v) => stringMatches(m.matcher as StringMatcher, v));
}

// ---- Everything identity-related in a snapshot, found by walking the decoded messages.
interface Found {
  readonly where: string;
  readonly principals: Principal[];
  readonly sanMatchers: SanMatcher[];
  /** Deprecated match_subject_alt_names: matched against every SAN of every type. */
  readonly anySanMatchers: StringMatcher[];
  /** Validation contexts that check no SAN at all (any certificate of the trust bundle passes). */
  readonly unrestrictedContexts: number;
}

function collect(snapshot: Snapshot): Found[] {
  const out: Found[] = [];
  const visit = (value: unknown, where: string): void => {
    if (Array.isArray(value)) return value.forEach((v, i) => visit(v, `${where}[${i}]`));
    if (typeof value !== 'object' || value === null || value instanceof Uint8Array) return;
    const obj = value as Record<string, unknown>;
    if (typeof obj['typeUrl'] === 'string' && obj['value'] instanceof Uint8Array) {
      const inner = unpackAny(obj as unknown as Parameters<typeof unpackAny>[0]);
      if (inner === undefined) throw new Error(`${where}: nested Any of unknown type ${obj['typeUrl']}`);
      return visit(inner, `${where}<${obj['typeUrl'].replace(/^.*\//, '')}>`);
    }
    const principals = Array.isArray(obj['principals']) && Array.isArray(obj['permissions']) ? (obj['principals'] as Principal[]) : [];
    const sanMatchers = Array.isArray(obj['matchTypedSubjectAltNames']) ? (obj['matchTypedSubjectAltNames'] as SanMatcher[]) : [];
    const anySanMatchers = Array.isArray(obj['matchSubjectAltNames']) ? (obj['matchSubjectAltNames'] as StringMatcher[]) : [];
    const isValidationContext = Array.isArray(obj['matchTypedSubjectAltNames']);
    if (principals.length || sanMatchers.length || anySanMatchers.length || isValidationContext) {
      out.push({ where, principals, sanMatchers, anySanMatchers, unrestrictedContexts: isValidationContext && !sanMatchers.length && !anySanMatchers.length ? 1 : 0 });
    }
    for (const [k, v] of Object.entries(obj)) visit(v, `${where}.${k}`);
  };
  for (const type of RESOURCE_TYPES) {
    const set = snapshot.types[type];
    for (const r of set.resources.values()) {
      const decoded = unpackAny({ $type: 'google.protobuf.Any', typeUrl: r.typeUrl, value: r.bytes } as Parameters<typeof unpackAny>[0]);
      if (decoded === undefined) throw new Error(`${type}/${r.name}: unknown type ${r.typeUrl}`);
      visit(decoded, `${type}/${r.name}`);
    }
  }
  return out;
}

/** Where in `found` a matcher accepts `peer` (for a principal: definitely or depending on request attributes). */
function acceptances(found: readonly Found[], peer: Peer): string[] {
  const hits: string[] = [];
  for (const f of found) {
    f.principals.forEach((p, i) => {
      const v = principalMatches(p, peer);
      if (v !== 'no') hits.push(`${f.where}.principals[${i}] (${v}): ${JSON.stringify(envoy.config.rbac.v3.Principal.toJSON(p))}`);
    });
    f.sanMatchers.forEach((m, i) => sanMatches(m, peer) && hits.push(`${f.where}.matchTypedSubjectAltNames[${i}]: ${JSON.stringify(envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher.toJSON(m))}`));
    f.anySanMatchers.forEach((m, i) => [...peer.uris, ...peer.dnsNames, ...peer.ips, ...peer.emails].some((v) => stringMatches(m, v)) && hits.push(`${f.where}.matchSubjectAltNames[${i}]`));
  }
  return hits;
}

const principalHits = (found: readonly Found[], peer: Peer): string[] => acceptances(found.map((f) => ({ ...f, sanMatchers: [], anySanMatchers: [] })), peer);
const sanHits = (found: readonly Found[], peer: Peer): string[] => acceptances(found.map((f) => ({ ...f, principals: [] })), peer);

// ---- The certificates: a bootstrap and a service certificate for every proxy, from one root.
const signingCA = await makeSigningCA();
const authority = new LocalCertificateAuthority({ ca: signingCA, trustDomain: 'cluster.local', clock: { now: () => T0 }, random: countingRandom() });
const issue = (label: string, subject: CertificateSubject): Peer => peerOf(label, authority.issueSync({ subject, validityMs: DAY }).certificatePem);
const certs = new Map(
  Object.entries(proxies).map(([name, p]) => [
    name,
    {
      bootstrap: issue(`bootstrap certificate of ${name}`, { kind: 'bootstrap', proxyUuid: p.uuid, serviceAccount: p.identity.name, namespace: p.identity.namespace }),
      service: issue(`service certificate of ${name}`, { kind: 'service', serviceAccount: p.identity.name, namespace: p.identity.namespace }),
    },
  ]),
);
const certsOf = (name: string) => {
  const c = certs.get(name);
  if (!c) throw new Error(`no certificates for ${name}`);
  return c;
};

/** Who may call whom in SMI mode: [client proxy, server proxy]. */
const smiGrants: [string, string][] = [
  ['bookbuyer', 'bookstoreV1'],
  ['bookbuyer', 'bookstoreV2'],
  ['bookstoreV1', 'bookwarehouse'],
  ['bookstoreV2', 'bookwarehouse'],
  ['bookwarehouse', 'mysql'],
];

for (const mode of ['permissive', 'smi'] as const) {
  describe(`bookstore in ${mode} mode: the encoded config never accepts a bootstrap certificate as a workload`, () => {
    const model = bookstore(mode === 'permissive');
    const inputs = { certificate: { certificateChain: '-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n', privateKey: 'key' }, trustBundle: signingCA.trustBundlePem };
    const found = new Map(Object.entries(proxies).map(([name, p]) => [name, collect(buildSnapshot(model, p, inputs))]));
    const foundOf = (name: string): Found[] => found.get(name) ?? assert.fail(`no snapshot for ${name}`);
    const all = [...found.values()].flat();

    it('collects the matchers the builder emits (the proof is not vacuous)', (t) => {
      const principals = all.reduce((n, f) => n + f.principals.length, 0);
      const sans = all.reduce((n, f) => n + f.sanMatchers.length + f.anySanMatchers.length, 0);
      const unrestricted = all.filter((f) => f.unrestrictedContexts).map((f) => f.where);
      t.diagnostic(`${principals} RBAC principals, ${sans} SAN matchers; validation contexts that check no SAN: ${unrestricted.join(', ') || 'none'}`);
      assert.ok(sans > 0, 'every upstream checks its server SANs');
      if (mode === 'smi') assert.ok(principals > 0, 'SMI mode authorizes with RBAC principals');
    });

    for (const [name, c] of certs) {
      it(`no principal or SAN matcher of any proxy matches the bootstrap certificate of ${name} (URI ${c.bootstrap.uris.join(', ')}, DNS ${c.bootstrap.dnsNames.join(', ')}, subject ${c.bootstrap.subject})`, () => {
        assert.deepEqual(acceptances(all, c.bootstrap), []);
      });
    }

    it('the evaluator tells identities apart: the service certificates match somewhere, and bookthief is no bootstrap', () => {
      for (const name of ['bookstoreV1', 'bookwarehouse', 'mysql']) assert.notDeepEqual(acceptances(all, certsOf(name).service), [], `${name}'s service certificate`);
      // A bootstrap certificate carrying the workload URI (what issue 15 found before the fix) would be caught.
      const impostor: Peer = { ...certsOf('bookwarehouse').bootstrap, uris: certsOf('bookwarehouse').service.uris, label: 'a bootstrap certificate with the workload URI' };
      assert.notDeepEqual(acceptances(all, impostor), []);
    });

    // Every client verifies its server's service certificate; in SMI mode every server authorizes its granted clients.
    // Permissive mode: every client reaches every service (bookthief included); SMI: the TrafficTargets.
    const grants: [string, string][] = mode === 'smi' ? smiGrants : [['bookbuyer', 'bookstoreV1'], ['bookthief', 'bookstoreV2'], ['bookstoreV1', 'bookwarehouse'], ['bookwarehouse', 'mysql']];
    for (const [client, server] of grants) {
      it(`${client} may call ${server}: its SAN matchers accept ${server}'s service certificate${mode === 'smi' ? `, and ${server}'s principals accept ${client}'s` : ''}`, () => {
        assert.notDeepEqual(sanHits(foundOf(client), certsOf(server).service), [], `${client} verifies ${server}`);
        assert.deepEqual(sanHits(foundOf(client), certsOf(server).bootstrap), []);
        if (mode === 'smi') {
          assert.notDeepEqual(principalHits(foundOf(server), certsOf(client).service), [], `${server} authorizes ${client}`);
          assert.deepEqual(principalHits(foundOf(server), certsOf(client).bootstrap), []);
        }
      });
    }

    if (mode === 'smi') {
      it('bookthief (no TrafficTarget) is authorized by no bookstore principal', () => {
        for (const server of ['bookstoreV1', 'bookstoreV2']) assert.deepEqual(principalHits(foundOf(server), certsOf('bookthief').service), []);
      });
    }
  });
}
