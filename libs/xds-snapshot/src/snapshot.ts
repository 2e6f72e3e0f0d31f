// buildSnapshot: (MeshModel, Proxy, inputs) -> Snapshot of encoded resources with content-hash versions.
// Each resource is described by a plan (plan.ts); its cache key is the canonical JSON of that plan, so
// a resource equal for many proxies is built, encoded and hashed once and then shared from the cache.
import { createHash } from 'node:crypto';
import { envoy, typeUrlOf } from '@osm/envoy-api';
import type { MeshModel, Proxy } from '@osm/mesh-model';
import { compareStrings } from '@osm/mesh-model';
import { referencesOf } from './references.ts';
import type { References } from './references.ts';
import { planProxy } from './plan.ts';
import {
  certificateSecret,
  cluster,
  clusterLoadAssignment,
  inboundListener,
  outboundListener,
  prometheusListener,
  routeConfiguration,
  validationSecret,
} from './resources.ts';

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

const hex = (data: string | Uint8Array, chars = 32): string => createHash('sha256').update(data).digest('hex').slice(0, chars);

/**
 * Encoded resources by content key (the canonical form of everything that determines them). The caller
 * owns it and passes it to every build; `sweep()` drops entries no build used since the previous sweep.
 */
export class ResourceCache {
  readonly #entries = new Map<string, { resource: EncodedResource; used: boolean }>();
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

  /** Removes the entries not used since the previous sweep; returns how many were removed. */
  sweep(): number {
    let removed = 0;
    for (const [key, entry] of this.#entries) {
      if (entry.used) entry.used = false;
      else {
        this.#entries.delete(key);
        removed++;
      }
    }
    return removed;
  }
}

interface Codec<M> {
  encode(message: M): { finish(): Uint8Array };
}

function encoded<M>(type: ResourceType, codec: Codec<M>, name: string, message: M): EncodedResource {
  const bytes = codec.encode(message).finish();
  const typeUrl = TYPE_URLS[type];
  return { type, typeUrl, name, bytes, version: hex(bytes), refs: referencesOf(typeUrl, bytes) };
}

/** The version of a set of resources: a hash of their sorted names and versions. */
export function typeVersion(resources: Iterable<EncodedResource>): string {
  const sorted = [...resources].sort((a, b) => compareStrings(a.name, b.name));
  const h = createHash('sha256');
  for (const r of sorted) h.update(`${r.name}\u0000${r.version}\n`);
  return h.digest('hex').slice(0, 32);
}

function resourceSet(type: ResourceType, list: EncodedResource[]): ResourceSet {
  list.sort((a, b) => compareStrings(a.name, b.name));
  return { type, typeUrl: TYPE_URLS[type], version: typeVersion(list), resources: new Map(list.map((r) => [r.name, r])) };
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

/**
 * Builds the Envoy configuration of one proxy. Pure and deterministic: the same model content (in any
 * order) and inputs give byte-identical resources and versions, on every replica.
 */
export function buildSnapshot(model: MeshModel, proxy: Proxy, inputs: SnapshotInputs): Snapshot {
  const cache = inputs.cache ?? new ResourceCache();
  const plan = planProxy(model, proxy, { clusterDomain: inputs.clusterDomain ?? 'cluster.local' });
  const V3 = envoy;
  const out: EncodedResource[] = [];
  const add = (type: ResourceType, key: string, make: () => EncodedResource): void => {
    out.push(cache.resolve(`${type}\n${key}`, make));
  };

  // Envoy rejects a listener without filter chains: a proxy with nothing to call or serve gets none.
  if (plan.outboundChains.length > 0 || plan.egress) {
    add('listeners', JSON.stringify(['outbound', plan.outboundChains, plan.egress]), () =>
      encoded('listeners', V3.config.listener.v3.Listener, 'outbound-listener', outboundListener(plan.outboundChains, plan.egress)),
    );
  }
  if (plan.inboundChains.length > 0) {
    add('listeners', JSON.stringify(['inbound', plan.inboundChains]), () =>
      encoded('listeners', V3.config.listener.v3.Listener, 'inbound-listener', inboundListener(plan.inboundChains)),
    );
  }
  if (plan.prometheus) add('listeners', 'prometheus', () => encoded('listeners', V3.config.listener.v3.Listener, 'inbound-prometheus-listener', prometheusListener()));
  for (const rc of plan.routes) {
    add('routes', JSON.stringify(rc), () => encoded('routes', V3.config.route.v3.RouteConfiguration, rc.name, routeConfiguration(rc)));
  }
  for (const c of plan.clusters) add('clusters', JSON.stringify(c), () => encoded('clusters', V3.config.cluster.v3.Cluster, c.name, cluster(c)));
  for (const e of plan.endpoints) {
    add('endpoints', JSON.stringify(e), () => encoded('endpoints', V3.config.endpoint.v3.ClusterLoadAssignment, e.name, clusterLoadAssignment(e)));
  }
  const Secret = V3.extensions.transport_sockets.tls.v3.Secret;
  const { certificateChain, privateKey } = inputs.certificate;
  // PEM data enters the keys as hashes: the keys stay short, and equal PEM still means equal key.
  const certHash = hex(`${certificateChain}\u0000${privateKey}`);
  add('secrets', JSON.stringify(['cert', plan.certSecret, certHash]), () =>
    encoded('secrets', Secret, plan.certSecret, certificateSecret(plan.certSecret, certificateChain, privateKey)),
  );
  const bundleHash = hex(inputs.trustBundle);
  for (const v of plan.validationSecrets) {
    add('secrets', JSON.stringify(['validation', v, bundleHash]), () => encoded('secrets', Secret, v.name, validationSecret(v.name, inputs.trustBundle, v.sans)));
  }
  return snapshotOf(proxy.uuid, out);
}
