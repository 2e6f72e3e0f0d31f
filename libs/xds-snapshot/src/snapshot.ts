// buildSnapshot: (MeshModel, Proxy, inputs) -> Snapshot of encoded resources with content-hash versions.
// Each resource is described by a plan (plan.ts); its cache key is the canonical JSON of that plan, so
// a resource equal for many proxies is built, encoded and hashed once and then shared from the cache.
import { hash } from 'node:crypto';
import { envoy, typeUrlOf } from '@osm/envoy-api';
import type { Endpoint, MeshModel, Proxy } from '@osm/mesh-model';
import { compareStrings } from '@osm/mesh-model';
import type { References } from './references.ts';
import { endpointsFrom, planInbound, planOutbound } from './plan.ts';
import type { ClusterPlan, EndpointsRef, InboundPlan, OutboundPlan, RouteConfigPlan, ValidationSecretPlan } from './plan.ts';
import { INBOUND_ROOT_CERT, METRICS_CLUSTER, PASSTHROUGH_CLUSTER, serviceCertName } from './names.ts';
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

/** One resource, encoded once: its bytes (an Any's value), version = hash of the bytes, and the names it refers to. */
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
  /** Certificate for the proxy's identity (CN `<sa>.<ns>.<trustDomain>`): chain and private key, PEM. */
  readonly certificate: { readonly certificateChain: string; readonly privateKey: string };
  /** Root certificates peers are validated against (PEM; old and new roots during rotation). */
  readonly trustBundle: string;
  /** Kubernetes cluster domain of service server names; default `cluster.local`. */
  readonly clusterDomain?: string;
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
  readonly #spaces = new Map<string, Map<string, { resource: EncodedResource; used: boolean }>>();
  hits = 0;
  misses = 0;

  get size(): number {
    let n = this.#entries.size;
    for (const map of this.#spaces.values()) n += map.size;
    return n;
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

  /**
   * Returns the resource for `key` within `space` (e.g. one identity's upstream clusters), building it
   * on a miss. Keys within a space are short and often the same string objects, so this is cheaper than
   * `resolve` for the most numerous resources.
   */
  resolveIn(space: string, key: string, make: () => EncodedResource): EncodedResource {
    const map = innerMap(this.#spaces, space);
    const entry = map.get(key);
    if (entry) {
      this.hits++;
      entry.used = true;
      return entry.resource;
    }
    this.misses++;
    const resource = make();
    map.set(key, { resource, used: true });
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
    for (const [space, map] of this.#spaces) {
      for (const [key, entry] of map) {
        if (entry.used) entry.used = false;
        else {
          map.delete(key);
          removed++;
        }
      }
      if (map.size === 0) this.#spaces.delete(space);
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
  readonly shared: IdentityMemo<SharedOutbound>;
  /** Cache keys of shared upstream cluster plans (all fields but the certificate). */
  readonly upstreamKeys: WeakMap<ClusterPlan, string>;
  readonly inbound: IdentityMemo<Group>;
  /** CDS, LDS, RDS and SDS sets by (outbound group, inbound group). */
  readonly sets: WeakMap<Group, WeakMap<Group, Omit<Snapshot['types'], 'endpoints'>>>;
  /** EDS set by (endpoint references, model.endpoints); equal reference lists are interned, so groups share sets. */
  readonly eds: WeakMap<readonly EndpointsRef[], WeakMap<object, ResourceSet>>;
  readonly edsRefs: Map<string, readonly EndpointsRef[]>;
  /** The last EDS resources computed for each endpoint reference list, with the endpoint lists they came from. */
  readonly edsLast: WeakMap<readonly EndpointsRef[], { readonly lists: readonly (readonly Endpoint[])[]; readonly resources: readonly EncodedResource[] }>;
  /** EDS resources by (endpoint list, cluster name and port). */
  readonly edsByList: WeakMap<readonly Endpoint[], Map<string, EncodedResource>>;
  /** Hashes of PEM strings. */
  readonly pemHashes: Map<string, string>;
}

const memosOf = new WeakMap<ResourceCache, Memos>();
function memos(cache: ResourceCache): Memos {
  let m = memosOf.get(cache);
  if (!m) {
    m = { outbound: new IdentityMemo(), shared: new IdentityMemo(), upstreamKeys: new WeakMap(), inbound: new IdentityMemo(), sets: new WeakMap(), eds: new WeakMap(), edsRefs: new Map(), edsLast: new WeakMap(), edsByList: new WeakMap(), pemHashes: new Map() };
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
  const key = c.kind === 'upstream' ? `clusters\nu\t${c.name}\t${c.protocol}\t${c.sni}\t${c.certSecret}\t${c.validationSecret}` : `clusters\n${JSON.stringify(c)}`;
  return cache.resolve(key, () =>
    c.kind === 'upstream'
      ? fromBytes('clusters', c.name, encodeUpstreamCluster(cache, c), refs({ endpoints: [c.name], secrets: [c.certSecret, c.validationSecret] }))
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
  const { name, sans } = plan;
  let memo = validationKeys.get(plan);
  if (memo?.bundleHash !== bundleHash) {
    memo = { bundleHash, key: `secrets\n${JSON.stringify(['validation', name, sans, bundleHash])}` };
    validationKeys.set(plan, memo);
  }
  return cache.resolve(memo.key, () =>
    fromBytes('secrets', name, encodeValidationSecret(name, cache.part('tls-trusted-ca', bundleHash, () => encodeTrustedCa(bundle)), sans), NO_REFS),
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

/** The identity-independent part of an outbound group (no clusters), with the plan it came from. */
interface SharedOutbound {
  readonly plan: OutboundPlan;
  readonly group: Group;
}

/**
 * The outbound group of one identity from a shared part: only the upstream clusters name the proxy's
 * own certificate; listeners, routes, validation contexts and endpoints are the same for every identity
 * with the same access (in permissive mode: every identity in the namespace).
 */
function withIdentity(cache: ResourceCache, m: Memos, shared: SharedOutbound, certSecret: string): Group {
  const clusters = shared.plan.clusters.map((c) => {
    if (c.kind !== 'upstream') return clusterResource(cache, c);
    let key = m.upstreamKeys.get(c);
    if (key === undefined) {
      // Everything of the plan but the certificate, which is the space.
      key = `${c.name}\t${c.protocol}\t${c.sni}\t${c.validationSecret}`;
      m.upstreamKeys.set(c, key);
    }
    return cache.resolveIn(`clusters\n${certSecret}`, key, () => {
      const plan = c.certSecret === certSecret ? c : { ...c, certSecret };
      return new UpstreamClusterResource(plan.name, encodeUpstreamCluster(cache, plan), certSecret, plan.validationSecret);
    });
  });
  return { ...shared.group, clusters };
}

/**
 * An encoded upstream cluster: the most numerous resource (identities x services), so it is kept small:
 * its references are derived on demand from the two secret names instead of stored.
 */
class UpstreamClusterResource implements EncodedResource {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly version: string;
  readonly #cert: string;
  readonly #validation: string;
  constructor(name: string, bytes: Uint8Array, cert: string, validation: string) {
    this.name = name;
    this.bytes = bytes;
    this.version = hex(bytes);
    this.#cert = cert;
    this.#validation = validation;
  }
  get type(): 'clusters' {
    return 'clusters';
  }
  get typeUrl(): string {
    return TYPE_URLS.clusters;
  }
  get refs(): References {
    return { routes: NONE, clusters: NONE, endpoints: [this.name], secrets: [this.#cert, this.#validation] };
  }
}

function sharedOutbound(cache: ResourceCache, m: Memos, plan: OutboundPlan, bundle: string, bundleHash: string): SharedOutbound {
  return { plan, group: { ...outboundGroup(cache, m, { ...plan, clusters: [] }, bundle, bundleHash), clusters: [] } };
}

function outboundGroup(cache: ResourceCache, m: Memos, plan: OutboundPlan, bundle: string, bundleHash: string): Group {
  const listeners: EncodedResource[] = [];
  // Envoy rejects a listener without filter chains: a proxy with nothing to call gets no outbound listener.
  if (plan.chains.length > 0 || plan.egress) {
    const chainKeys = plan.chains.map((c) => JSON.stringify(c));
    // The references are computed only on a miss (the plan is the same for every proxy sharing the key).
    const r = (): References =>
      refs({
        routes: plan.chains.flatMap((c) => (c.routeConfig !== undefined ? [c.routeConfig] : [])),
        clusters: [...plan.chains.flatMap((c) => (c.targets ?? []).map((t) => t.cluster)), ...(plan.egress ? [PASSTHROUGH_CLUSTER] : [])],
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

function inboundGroup(cache: ResourceCache, plan: InboundPlan, inputs: SnapshotInputs, certHash: string, bundleHash: string): Group {
  const listeners: EncodedResource[] = [];
  if (plan.chains.length > 0) {
    const r = refs({
      routes: plan.chains.flatMap((c) => (c.routeConfig !== undefined ? [c.routeConfig] : [])),
      clusters: plan.chains.flatMap((c) => (c.localCluster !== undefined ? [c.localCluster] : [])),
      secrets: [...plan.chains.map((c) => c.certSecret), INBOUND_ROOT_CERT],
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
  const { certificateChain, privateKey } = inputs.certificate;
  const Secret = V3.extensions.transport_sockets.tls.v3.Secret;
  const cert = cache.resolve(`secrets\n${JSON.stringify(['cert', plan.certSecret, certHash])}`, () =>
    encoded('secrets', Secret, plan.certSecret, certificateSecret(plan.certSecret, certificateChain, privateKey), NO_REFS),
  );
  return {
    listeners,
    routes: plan.routes.map((rc) => routeResource(cache, rc)),
    clusters: plan.clusters.map((c) => clusterResource(cache, c)),
    secrets: [cert, ...plan.validationSecrets.map((v) => validationResource(cache, v, inputs.trustBundle, bundleHash))],
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

/**
 * Builds the Envoy configuration of one proxy. Pure and deterministic: the same model content (in any
 * order) and inputs give byte-identical resources and versions, on every replica.
 */
export function buildSnapshot(model: MeshModel, proxy: Proxy, inputs: SnapshotInputs): Snapshot {
  const cache = inputs.cache ?? new ResourceCache();
  const m = memos(cache);
  const options = { clusterDomain: inputs.clusterDomain ?? 'cluster.local' };
  const certHash = pemHash(m, `${inputs.certificate.certificateChain}\u0000${inputs.certificate.privateKey}`);
  const bundleHash = pemHash(m, inputs.trustBundle);
  const id = `${proxy.identity.namespace}/${proxy.identity.name}`;
  const policy = [model.services, model.trafficTargets, model.httpRouteGroups, model.tcpRoutes, model.trafficSplits, model.settings];

  const tail = `${id}|${proxy.namespace}|${bundleHash}|${options.clusterDomain}`;
  // In permissive mode the outbound access is the same for every identity: share all but the clusters
  // among the identities of a namespace (hostnames depend on the client's namespace).
  const sharedKey = model.settings.permissiveMode ? `*|${proxy.namespace}|${bundleHash}|${options.clusterDomain}` : tail;
  const certSecret = serviceCertName(proxy.identity);
  const outbound = (objects: readonly object[]): Group =>
    m.outbound.get(objects, tail, () =>
      withIdentity(
        cache,
        m,
        m.shared.get(objects, sharedKey, () => sharedOutbound(cache, m, planOutbound(model, proxy.identity, proxy.namespace, options), inputs.trustBundle, bundleHash)),
        certSecret,
      ),
    );
  // The outbound half depends on endpoints only through headless services: memoize without them first.
  let out = outbound(policy);
  if (out.usesEndpoints) out = outbound([...policy, model.endpoints]);
  const services = [...new Set(proxy.services.map((s) => `${s.namespace}/${s.name}`))].sort(compareStrings).join(',');
  const inb = m.inbound.get([...policy, model.namespaces], `${tail}|${certHash}|${services}`, () => inboundGroup(cache, planInbound(model, proxy, options), inputs, certHash, bundleHash));

  let byIn = m.sets.get(out);
  if (!byIn) {
    byIn = new WeakMap();
    m.sets.set(out, byIn);
  }
  let sets = byIn.get(inb);
  if (!sets) {
    sets = {
      clusters: resourceSet('clusters', [...out.clusters, ...inb.clusters]),
      listeners: resourceSet('listeners', [...out.listeners, ...inb.listeners]),
      routes: resourceSet('routes', [...out.routes, ...inb.routes]),
      secrets: resourceSet('secrets', [...out.secrets, ...inb.secrets]),
    };
    byIn.set(inb, sets);
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
