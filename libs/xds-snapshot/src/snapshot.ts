// buildSnapshot: (MeshModel, Proxy, inputs) -> Snapshot of encoded resources with content-hash versions.
// Each resource is described by a plan (plan.ts); its cache key is the canonical JSON of that plan, so
// a resource equal for many proxies is built, encoded and hashed once and then shared from the cache.
import { hash } from 'node:crypto';
import { envoy, typeUrlOf } from '@osm/envoy-api';
import type { Endpoint, MeshModel, MeshService, Proxy } from '@osm/mesh-model';
import { compareStrings, keyOf, outboundServices } from '@osm/mesh-model';
import type { References } from './references.ts';
import { endpointsFrom, planInbound, planOutbound } from './plan.ts';
import type { ClusterPlan, EndpointsRef, InboundPlan, OutboundPlan, RouteConfigPlan, ValidationSecretPlan } from './plan.ts';
import { INBOUND_ROOT_CERT, METRICS_CLUSTER, PASSTHROUGH_CLUSTER, SERVICE_CERT, TRACING_CLUSTER } from './names.ts';
import {
  certificateSecret,
  cluster,
  inboundListener,
  prometheusListener,
} from './resources.ts';
import { encodeClusterLoadAssignment, encodeOutboundListener, encodeRouteConfiguration, encodeTrustedCa, encodeUpstreamCluster, encodeValidationSecret } from './encode.ts';

/** The five resource types of a sidecar snapshot, in the order Envoy should receive them. */
export const RESOURCE_TYPES = ['clusters', 'endpoints', 'listeners', 'routes', 'secrets'] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

/** Type URL of each resource type (`type.googleapis.com/envoy.config.listener.v3.Listener`, ...). */
export const TYPE_URLS: Readonly<Record<ResourceType, string>> = {
  clusters: typeUrlOf(envoy.config.cluster.v3.Cluster),
  endpoints: typeUrlOf(envoy.config.endpoint.v3.ClusterLoadAssignment),
  listeners: typeUrlOf(envoy.config.listener.v3.Listener),
  routes: typeUrlOf(envoy.config.route.v3.RouteConfiguration),
  secrets: typeUrlOf(envoy.extensions.transport_sockets.tls.v3.Secret),
};

/**
 * One resource, encoded once: its bytes (an Any's value), version = hash of the bytes (the service
 * certificate's: of its generation, see SnapshotInputs), and the names it refers to.
 */
export interface EncodedResource {
  readonly type: ResourceType;
  readonly typeUrl: string;
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly version: string;
  readonly refs: References;
}

/** All resources of one type for one proxy, sorted by name; version = hash of the names and versions. */
export interface ResourceSet {
  readonly type: ResourceType;
  readonly typeUrl: string;
  readonly version: string;
  readonly resources: ReadonlyMap<string, EncodedResource>;
}

/** A proxy's complete, immutable configuration. */
export interface Snapshot {
  /** The proxy's uuid (Envoy node.id). */
  readonly proxy: string;
  readonly types: Readonly<Record<ResourceType, ResourceSet>>;
}

/** PEM data the caller hands in: the proxy's service certificate and the mesh trust bundle. */
export interface SnapshotInputs {
  /** Certificate for the proxy's identity (CN `<sa>.<ns>.<trustDomain>`): chain and private key, PEM; served as the secret `service-cert`. */
  readonly certificate: {
    readonly certificateChain: string;
    readonly privateKey: string;
    /**
     * The certificate's generation (`@osm/certificates` CachedCertificate.generation): when set, the
     * secret's version is a hash of the proxy's identity and this generation, not of the bytes, so that
     * every replica's certificate of one generation has one version and a proxy that reconnects to
     * another replica, or after a restart, is not sent a certificate it does not need. Without it, the
     * version is the hash of the bytes.
     */
    readonly generation?: { readonly index: number; readonly validityMs: number; readonly rootFingerprint: string };
  };
  /** Root certificates peers are validated against (PEM; old and new roots during rotation). */
  readonly trustBundle: string;
  /** Shared cache of encoded resources (owned by the caller, reused across proxies and builds). */
  readonly cache?: ResourceCache;
}

const hex = (data: string | Uint8Array, chars = 32): string => hash('sha256', data, 'hex').slice(0, chars);

/**
 * Encoded resources by content key (the canonical form of everything that determines them). The caller
 * owns it and passes it to every build; `sweep()` drops entries no build used since the previous sweep.
 * It also memoizes on the identity of the (immutable) model's maps and lists, so that proxies of one
 * identity, and rebuilds after a change elsewhere in the model, reuse whole groups of resources; those
 * memos are weakly held and go with the model objects they were made from.
 */
/** The map for `space` inside `outer`, created on first use. */
function innerMap<V>(outer: Map<string, Map<string, V>>, space: string): Map<string, V> {
  let map = outer.get(space);
  if (!map) {
    map = new Map();
    outer.set(space, map);
  }
  return map;
}

export class ResourceCache {
  readonly #entries = new Map<string, { resource: EncodedResource; used: boolean }>();
  readonly #parts = new Map<string, Map<string, { bytes: Uint8Array; used: boolean }>>();
  hits = 0;
  misses = 0;

  get size(): number {
    return this.#entries.size;
  }

  /** Returns the resource for `key`, building and encoding it on a miss. */
  resolve(key: string, make: () => EncodedResource): EncodedResource {
    const entry = this.#entries.get(key);
    if (entry) {
      this.hits++;
      entry.used = true;
      return entry.resource;
    }
    this.misses++;
    const resource = make();
    this.#entries.set(key, { resource, used: true });
    return resource;
  }

  /** Returns the encoded part (of a larger resource) for `key`, encoding it on a miss. */
  part(space: string, key: string, make: () => Uint8Array): Uint8Array {
    const map = innerMap(this.#parts, space);
    const entry = map.get(key);
    if (entry) {
      entry.used = true;
      return entry.bytes;
    }
    const bytes = make();
    map.set(key, { bytes, used: true });
    return bytes;
  }

  /** Removes the entries (resources and parts) not used since the previous sweep; returns how many resources were removed. */
  sweep(): number {
    let removed = 0;
    for (const [key, entry] of this.#entries) {
      if (entry.used) entry.used = false;
      else {
        this.#entries.delete(key);
        removed++;
      }
    }
    for (const map of this.#parts.values()) {
      for (const [key, entry] of map) {
        if (entry.used) entry.used = false;
        else map.delete(key);
      }
    }
    return removed;
  }
}

interface Codec<M> {
  encode(message: M): { finish(): Uint8Array };
}

const NO_REFS: References = { routes: [], clusters: [], endpoints: [], secrets: [] };
const refs = (r: Partial<References>): References => ({
  routes: uniq(r.routes),
  clusters: uniq(r.clusters),
  endpoints: uniq(r.endpoints),
  secrets: uniq(r.secrets),
});
const NONE: readonly string[] = [];
const uniq = (xs: readonly string[] | undefined): readonly string[] => (!xs || xs.length === 0 ? NONE : xs.length === 1 ? xs : [...new Set(xs)]);

function encoded<M>(type: ResourceType, codec: Codec<M>, name: string, message: M, references: References): EncodedResource {
  return fromBytes(type, name, codec.encode(message).finish(), references);
}

function fromBytes(type: ResourceType, name: string, bytes: Uint8Array, references: References): EncodedResource {
  return { type, typeUrl: TYPE_URLS[type], name, bytes, version: hex(bytes), refs: references };
}

/** The version of a set of resources: a hash of their sorted names and versions. */
export function typeVersion(resources: Iterable<EncodedResource>): string {
  return versionOfSorted([...resources].sort(byResourceName));
}

const byResourceName = (a: EncodedResource, b: EncodedResource): number => compareStrings(a.name, b.name);

function versionOfSorted(sorted: readonly EncodedResource[]): string {
  let text = '';
  for (const r of sorted) text += `${r.name}\u0000${r.version}\n`;
  return hex(text);
}

function resourceSet(type: ResourceType, list: EncodedResource[]): ResourceSet {
  let sorted = true;
  for (let i = 1; i < list.length && sorted; i++) sorted = compareStrings((list[i - 1] as EncodedResource).name, (list[i] as EncodedResource).name) < 0;
  if (!sorted) list.sort(byResourceName);
  return { type, typeUrl: TYPE_URLS[type], version: versionOfSorted(list), resources: new Map(list.map((r) => [r.name, r])) };
}

/** A snapshot from already encoded resources (for instance to assemble one by hand in a test). */
export function snapshotOf(proxy: string, resources: Iterable<EncodedResource>): Snapshot {
  const by: Record<ResourceType, EncodedResource[]> = { clusters: [], endpoints: [], listeners: [], routes: [], secrets: [] };
  for (const r of resources) by[r.type].push(r);
  return {
    proxy,
    types: {
      clusters: resourceSet('clusters', by.clusters),
      endpoints: resourceSet('endpoints', by.endpoints),
      listeners: resourceSet('listeners', by.listeners),
      routes: resourceSet('routes', by.routes),
      secrets: resourceSet('secrets', by.secrets),
    },
  };
}

// ---- memos on object identity (the model is immutable: the same object always has the same content)

/** Values by a path of objects (held weakly) and a final string key. */
class IdentityMemo<V> {
  readonly #root = new WeakMap<object, unknown>();

  get(objects: readonly object[], key: string, make: () => V): V {
    let level = this.#root;
    for (let i = 0; i < objects.length - 1; i++) {
      const o = objects[i] as object;
      let next = level.get(o) as WeakMap<object, unknown> | undefined;
      if (!next) {
        next = new WeakMap();
        level.set(o, next);
      }
      level = next;
    }
    const last = objects[objects.length - 1] as object;
    let map = level.get(last) as Map<string, V> | undefined;
    if (!map) {
      map = new Map();
      level.set(last, map);
    }
    let v = map.get(key);
    if (v === undefined) {
      v = make();
      map.set(key, v);
    }
    return v;
  }
}

/** One half (outbound or inbound) of a proxy's resources, encoded. */
interface Group {
  readonly listeners: readonly EncodedResource[];
  readonly routes: readonly EncodedResource[];
  readonly clusters: readonly EncodedResource[];
  readonly secrets: readonly EncodedResource[];
  readonly endpoints: readonly EndpointsRef[];
  readonly usesEndpoints: boolean;
}

interface Memos {
  readonly outbound: IdentityMemo<Group>;
  readonly inbound: IdentityMemo<Group>;
  /** CDS, LDS, RDS and SDS sets by (outbound group, inbound group, certificate secret). */
  readonly sets: WeakMap<Group, WeakMap<Group, WeakMap<EncodedResource, Omit<Snapshot['types'], 'endpoints'>>>>;
  /** EDS set by (endpoint references, model.endpoints); equal reference lists are interned, so groups share sets. */
  readonly eds: WeakMap<readonly EndpointsRef[], WeakMap<object, ResourceSet>>;
  readonly edsRefs: Map<string, readonly EndpointsRef[]>;
  /** The last EDS resources computed for each endpoint reference list, with the endpoint lists they came from. */
  readonly edsLast: WeakMap<readonly EndpointsRef[], { readonly lists: readonly (readonly Endpoint[])[]; readonly resources: readonly EncodedResource[] }>;
  /** EDS resources by (endpoint list, cluster name and port). */
  readonly edsByList: WeakMap<readonly Endpoint[], Map<string, EncodedResource>>;
  /** Hashes of PEM strings. */
  readonly pemHashes: Map<string, string>;
  /** A key for each reachable-services list (the model's memoized lists): the services' keys. */
  readonly reachableKeys: WeakMap<readonly MeshService[], string>;
}

const memosOf = new WeakMap<ResourceCache, Memos>();
function memos(cache: ResourceCache): Memos {
  let m = memosOf.get(cache);
  if (!m) {
    m = { outbound: new IdentityMemo(), inbound: new IdentityMemo(), sets: new WeakMap(), eds: new WeakMap(), edsRefs: new Map(), edsLast: new WeakMap(), edsByList: new WeakMap(), pemHashes: new Map(), reachableKeys: new WeakMap() };
    memosOf.set(cache, m);
  }
  return m;
}

function pemHash(m: Memos, pem: string): string {
  let h = m.pemHashes.get(pem);
  if (h === undefined) {
    if (m.pemHashes.size > 10_000) m.pemHashes.clear();
    h = hex(pem);
    m.pemHashes.set(pem, h);
  }
  return h;
}

const EMPTY: readonly Endpoint[] = [];
const V3 = envoy;

// ---- encoding of plans, through the content-keyed cache

function clusterResource(cache: ResourceCache, c: ClusterPlan): EncodedResource {
  // Every field of the plan is in the key (tab-separated; names contain no tabs).
  const key = c.kind === 'upstream' ? `clusters\nu\t${c.name}\t${c.protocol}\t${c.sni}\t${c.validationSecret}` : `clusters\n${JSON.stringify(c)}`;
  return cache.resolve(key, () =>
    c.kind === 'upstream'
      ? fromBytes('clusters', c.name, encodeUpstreamCluster(cache, c), refs({ endpoints: [c.name], secrets: [SERVICE_CERT, c.validationSecret] }))
      : encoded('clusters', V3.config.cluster.v3.Cluster, c.name, cluster(c), NO_REFS),
  );
}

function routeResource(cache: ResourceCache, rc: RouteConfigPlan): EncodedResource {
  const vhostKeys = rc.virtualHosts.map((vh) => JSON.stringify(vh));
  return cache.resolve(`routes\n${rc.name}\n${vhostKeys.join('\n')}`, () => {
    const r = refs({ clusters: rc.virtualHosts.flatMap((vh) => vh.rules.flatMap((rule) => rule.targets.map((t) => t.cluster))) });
    return fromBytes('routes', rc.name, encodeRouteConfiguration(cache, rc, vhostKeys), r);
  });
}

// Cache keys of validation secrets by plan object (plan.ts shares one per upstream service) and bundle.
const validationKeys = new WeakMap<ValidationSecretPlan, { readonly bundleHash: string; readonly key: string }>();

function validationResource(cache: ResourceCache, plan: ValidationSecretPlan, bundle: string, bundleHash: string): EncodedResource {
  const { name, sans, sanPrefix } = plan;
  let memo = validationKeys.get(plan);
  if (memo?.bundleHash !== bundleHash) {
    memo = { bundleHash, key: `secrets\n${JSON.stringify(['validation', name, sans, sanPrefix ?? null, bundleHash])}` };
    validationKeys.set(plan, memo);
  }
  return cache.resolve(memo.key, () =>
    fromBytes('secrets', name, encodeValidationSecret(name, cache.part('tls-trusted-ca', bundleHash, () => encodeTrustedCa(bundle)), sans, sanPrefix), NO_REFS),
  );
}

function internRefs(m: Memos, refs: readonly EndpointsRef[]): readonly EndpointsRef[] {
  const key = refs.map((r) => `${r.name}\t${r.service}\t${r.targetPort}`).join('\n');
  const found = m.edsRefs.get(key);
  if (found) return found;
  if (m.edsRefs.size > 100_000) m.edsRefs.clear();
  m.edsRefs.set(key, refs);
  return refs;
}

/** The tracing cluster, when a chain's HTTP connection manager sends spans to it. */
const tracingRefs = (chains: readonly { readonly tracingEndpoint?: string }[]): string[] => (chains.some((c) => c.tracingEndpoint !== undefined) ? [TRACING_CLUSTER] : []);

function outboundGroup(cache: ResourceCache, m: Memos, plan: OutboundPlan, bundle: string, bundleHash: string): Group {
  const listeners: EncodedResource[] = [];
  // Envoy rejects a listener without filter chains: a proxy with nothing to call gets no outbound listener.
  if (plan.chains.length > 0 || plan.egress) {
    const chainKeys = plan.chains.map((c) => JSON.stringify(c));
    // The references are computed only on a miss (the plan is the same for every proxy sharing the key).
    const r = (): References =>
      refs({
        routes: plan.chains.flatMap((c) => (c.routeConfig !== undefined ? [c.routeConfig] : [])),
        clusters: [...plan.chains.flatMap((c) => (c.targets ?? []).map((t) => t.cluster)), ...(plan.egress ? [PASSTHROUGH_CLUSTER] : []), ...tracingRefs(plan.chains)],
      });
    listeners.push(
      cache.resolve(`listeners\noutbound\n${plan.egress}\n${chainKeys.join('\n')}`, () =>
        fromBytes('listeners', 'outbound-listener', encodeOutboundListener(cache, plan.chains, chainKeys, plan.egress), r()),
      ),
    );
  }
  return {
    listeners,
    routes: plan.routes.map((rc) => routeResource(cache, rc)),
    clusters: plan.clusters.map((c) => clusterResource(cache, c)),
    secrets: plan.validationSecrets.map((v) => validationResource(cache, v, bundle, bundleHash)),
    endpoints: internRefs(m, plan.endpoints),
    usesEndpoints: plan.usesEndpoints,
  };
}

function inboundGroup(cache: ResourceCache, plan: InboundPlan, trustBundle: string, bundleHash: string): Group {
  const listeners: EncodedResource[] = [];
  if (plan.chains.length > 0) {
    const r = refs({
      routes: plan.chains.flatMap((c) => (c.routeConfig !== undefined ? [c.routeConfig] : [])),
      clusters: [...plan.chains.flatMap((c) => (c.localCluster !== undefined ? [c.localCluster] : [])), ...tracingRefs(plan.chains)],
      secrets: [SERVICE_CERT, INBOUND_ROOT_CERT],
    });
    listeners.push(
      cache.resolve(`listeners\n${JSON.stringify(['inbound', plan.chains])}`, () => encoded('listeners', V3.config.listener.v3.Listener, 'inbound-listener', inboundListener(plan.chains), r)),
    );
  }
  if (plan.prometheus) {
    listeners.push(
      cache.resolve('listeners\nprometheus', () => encoded('listeners', V3.config.listener.v3.Listener, 'inbound-prometheus-listener', prometheusListener(), refs({ clusters: [METRICS_CLUSTER] }))),
    );
  }
  return {
    listeners,
    routes: plan.routes.map((rc) => routeResource(cache, rc)),
    clusters: plan.clusters.map((c) => clusterResource(cache, c)),
    secrets: plan.validationSecrets.map((v) => validationResource(cache, v, trustBundle, bundleHash)),
    endpoints: [],
    usesEndpoints: false,
  };
}

function edsResource(cache: ResourceCache, m: Memos, model: MeshModel, ref: EndpointsRef): EncodedResource {
  const list = model.endpoints.get(ref.service) ?? EMPTY;
  let byCluster = m.edsByList.get(list);
  if (!byCluster) {
    byCluster = new Map();
    m.edsByList.set(list, byCluster);
  }
  const k = `${ref.name}\n${ref.targetPort}`;
  let r = byCluster.get(k);
  if (!r) {
    const plan = endpointsFrom(ref.name, list, ref.targetPort);
    // name, then ip and port of each endpoint (names and IPs contain no tabs or newlines)
    let key = `endpoints\n${plan.name}`;
    for (const [ip, port] of plan.endpoints) key += `\n${ip}\t${port}`;
    r = cache.resolve(key, () => fromBytes('endpoints', plan.name, encodeClusterLoadAssignment(plan), NO_REFS));
    byCluster.set(k, r);
  }
  return r;
}

/** The `service-cert` secret: cached by its bytes; versioned by its generation when it has one. */
function certificateResource(cache: ResourceCache, proxy: Proxy, certificate: SnapshotInputs['certificate'], certHash: string): EncodedResource {
  const { certificateChain, privateKey, generation } = certificate;
  const version = generation && hex(`${SERVICE_CERT}\u0000${keyOf(proxy.identity)}\u0000${generation.rootFingerprint}\u0000${generation.validityMs}\u0000${generation.index}`);
  return cache.resolve(`secrets\ncert\n${certHash}\n${version ?? ''}`, () => {
    const resource = encoded('secrets', V3.extensions.transport_sockets.tls.v3.Secret, SERVICE_CERT, certificateSecret(SERVICE_CERT, certificateChain, privateKey), NO_REFS);
    return version ? { ...resource, version } : resource;
  });
}

/** The key of a reachable-services list: its services' keys (lists are memoized by the model, so this is computed once per list). */
function reachableKey(m: Memos, reachable: readonly MeshService[]): string {
  let key = m.reachableKeys.get(reachable);
  if (key === undefined) {
    key = reachable.map(keyOf).join(',');
    m.reachableKeys.set(reachable, key);
  }
  return key;
}

/**
 * Builds the Envoy configuration of one proxy. Pure and deterministic: the same model content (in any
 * order) and inputs give byte-identical resources and versions, on every replica.
 */
export function buildSnapshot(model: MeshModel, proxy: Proxy, inputs: SnapshotInputs): Snapshot {
  const cache = inputs.cache ?? new ResourceCache();
  const m = memos(cache);
  const certHash = pemHash(m, `${inputs.certificate.certificateChain}\u0000${inputs.certificate.privateKey}`);
  const bundleHash = pemHash(m, inputs.trustBundle);

  // Outbound: the same for every proxy of a namespace whose identity reaches the same services (in
  // permissive mode, every proxy of the namespace). It reads the services, splits and settings, and
  // the endpoints only through headless services.
  const reachable = outboundServices(model, proxy.identity);
  const outKey = `${proxy.namespace}|${bundleHash}|${reachableKey(m, reachable)}`;
  const outPolicy = [model.services, model.trafficSplits, model.settings];
  const outbound = (objects: readonly object[]): Group =>
    m.outbound.get(objects, outKey, () => outboundGroup(cache, m, planOutbound(model, reachable, proxy.namespace), inputs.trustBundle, bundleHash));
  let out = outbound(outPolicy);
  if (out.usesEndpoints) out = outbound([...outPolicy, model.endpoints]);

  // Inbound: by identity (the TrafficTargets to it), the services the proxy backs and its metrics switch.
  const services = [...new Set(proxy.services.map(keyOf))].sort(compareStrings).join(',');
  const inPolicy = [model.services, model.trafficTargets, model.httpRouteGroups, model.tcpRoutes, model.trafficSplits, model.settings];
  const inKey = `${keyOf(proxy.identity)}|${bundleHash}|${proxy.prometheusScrape}|${services}`;
  const inb = m.inbound.get(inPolicy, inKey, () => inboundGroup(cache, planInbound(model, proxy), inputs.trustBundle, bundleHash));

  const cert = certificateResource(cache, proxy, inputs.certificate, certHash);

  let byIn = m.sets.get(out);
  if (!byIn) {
    byIn = new WeakMap();
    m.sets.set(out, byIn);
  }
  let byCert = byIn.get(inb);
  if (!byCert) {
    byCert = new WeakMap();
    byIn.set(inb, byCert);
  }
  let sets = byCert.get(cert);
  if (!sets) {
    sets = {
      clusters: resourceSet('clusters', [...out.clusters, ...inb.clusters]),
      listeners: resourceSet('listeners', [...out.listeners, ...inb.listeners]),
      routes: resourceSet('routes', [...out.routes, ...inb.routes]),
      secrets: resourceSet('secrets', [...out.secrets, ...inb.secrets, cert]),
    };
    byCert.set(cert, sets);
  }

  let byEndpoints = m.eds.get(out.endpoints);
  if (!byEndpoints) {
    byEndpoints = new WeakMap();
    m.eds.set(out.endpoints, byEndpoints);
  }
  let eds = byEndpoints.get(model.endpoints);
  if (!eds) {
    // Incremental: an endpoint list that is the same object as in the previous set gives the same resource.
    const last = m.edsLast.get(out.endpoints);
    const lists = out.endpoints.map((ref) => model.endpoints.get(ref.service) ?? EMPTY);
    const resources = out.endpoints.map((ref, i) => (last && last.lists[i] === lists[i] ? (last.resources[i] as EncodedResource) : edsResource(cache, m, model, ref)));
    m.edsLast.set(out.endpoints, { lists, resources });
    eds = resourceSet('endpoints', [...resources]);
    byEndpoints.set(model.endpoints, eds);
  }
  return { proxy: proxy.uuid, types: { ...sets, endpoints: eds } };
}
