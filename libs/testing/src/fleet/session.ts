// The ADS protocol of one simulated Envoy sidecar, without sockets: responses in, requests out.
// It behaves as Envoy's gRPC mux does, per the xDS protocol (envoyproxy.io, "xDS REST and gRPC
// protocol"):
// - CDS is subscribed first (wildcard); LDS (wildcard) only once the clusters are warm, that is when
//   every EDS name and every SDS name the clusters need has arrived (or the caller reports that the
//   initial fetch timed out).
// - EDS names follow the EDS clusters, RDS names the listeners' HTTP connection managers, SDS names the
//   TLS transport sockets of clusters and listeners. A changed name list is sent before the ACK of the
//   response that changed it (Envoy pauses the dependent types while it applies CDS or LDS).
// - SotW: an ACK carries the response's version and nonce; a NACK the last accepted version, the
//   response's nonce and error_detail (code 13, INTERNAL, as Envoy sets it). The last good config stays.
// - Delta: an ACK carries the nonce; a NACK adds error_detail; subscription changes are diffs.
// - A new stream re-sends every subscribed type in subscription order with the versions held (SotW:
//   version_info; delta: initial_resource_versions) and no nonce. The node goes on the first request
//   of a stream only (OSM's bootstrap sets set_node_on_first_message_only) unless told otherwise.
import { TYPE_URLS } from '@osm/xds-snapshot';
import type { References } from '@osm/xds-snapshot';
import { NameTable, problemOf, type DecodedList, type DecodedResource } from './resources.ts';
import type { AdsRequest } from './wire.ts';

export type AdsMode = 'sotw' | 'delta';

export interface SotwResponse {
  readonly kind: 'sotw';
  readonly typeUrl: string;
  readonly versionInfo: string;
  readonly nonce: string;
  /** control_plane.identifier ('' when absent). */
  readonly controlPlane: string;
  readonly resources: DecodedList;
}

export interface DeltaResource {
  readonly name: string;
  readonly version: string;
  readonly resource: DecodedResource;
}

export interface DeltaResponse {
  readonly kind: 'delta';
  readonly typeUrl: string;
  readonly systemVersionInfo: string;
  readonly nonce: string;
  readonly controlPlane: string;
  readonly resources: readonly DeltaResource[];
  readonly removed: readonly string[];
}

export type AdsResponse = SotwResponse | DeltaResponse;

/** What a proxy knows about one type URL. Times are the caller's clock values, undefined until they happen. */
export interface TypeState {
  readonly typeUrl: string;
  /** CDS and LDS are wildcard; the others name what they want. */
  readonly wildcard: boolean;
  /** The names asked for (empty for wildcard types), sorted and interned. */
  readonly subscribed: readonly string[];
  /** SotW: version_info of the last accepted response; delta: its system_version_info. */
  readonly version: string;
  /** Nonce of the last response on the current stream ('' after a reconnect until one arrives). */
  readonly nonce: string;
  /** The resources accepted and still subscribed. */
  readonly held: readonly DecodedResource[];
  /** Delta: each held resource's version. */
  readonly heldVersions: ReadonlyMap<string, string> | undefined;
  readonly responses: number;
  readonly nacks: number;
  /** error_detail of the last NACK ('' if none). */
  readonly lastNack: string;
  readonly ackedAt: number | undefined;
  readonly responseAt: number | undefined;
}

type MutableTypeState = { -readonly [K in Exclude<keyof TypeState, 'heldVersions'>]: TypeState[K] } & { heldVersions: Map<string, string> | undefined };

export interface Received {
  readonly requests: AdsRequest[];
  /** 'ignored': a type this proxy has not subscribed to (Envoy drops it without a reply). */
  readonly outcome: 'ack' | 'nack' | 'ignored';
}

/** A reason to NACK a response the proxy could otherwise accept, or undefined. */
export type RejectRule = (typeUrl: string, resources: readonly DecodedResource[]) => string | undefined;

export interface SessionOptions {
  readonly mode: AdsMode;
  /** Shared by every session of a process, so equal name lists are one array. */
  readonly cache: SessionCache;
  /** Envoy's set_node_on_first_message_only; default true, as in OSM's bootstrap. */
  readonly nodeOnFirstMessageOnly?: boolean;
  readonly reject?: RejectRule;
}

/** Envoy's status code in error_detail of a NACK. */
export const NACK_CODE = 13;

const CDS = TYPE_URLS.clusters;
const EDS = TYPE_URLS.endpoints;
const LDS = TYPE_URLS.listeners;
const RDS = TYPE_URLS.routes;
const SDS = TYPE_URLS.secrets;

type RefKind = keyof References;

/**
 * Per-process memos over lists by identity: the names a list refers to, unions, whether a list holds
 * a set of names. Proxies of one identity share lists, so each is computed once.
 */
export class SessionCache {
  readonly names = new NameTable();
  readonly #refs = new Map<RefKind, WeakMap<readonly DecodedResource[], readonly string[]>>();
  readonly #held = new WeakMap<readonly DecodedResource[], readonly string[]>();
  readonly #unions = new WeakMap<readonly string[], WeakMap<readonly string[], readonly string[]>>();

  /** The names of kind `kind` that the resources of `list` refer to (sorted, interned). */
  refs(list: readonly DecodedResource[], kind: RefKind): readonly string[] {
    let memo = this.#refs.get(kind);
    if (!memo) this.#refs.set(kind, (memo = new WeakMap()));
    let names = memo.get(list);
    if (!names) {
      names = this.names.intern(list.flatMap((r) => r.refs[kind]));
      memo.set(list, names);
    }
    return names;
  }

  /** The names of the resources in `list` (sorted, interned). */
  heldNames(list: readonly DecodedResource[]): readonly string[] {
    let names = this.#held.get(list);
    if (!names) {
      names = this.names.intern(list.map((r) => r.name));
      this.#held.set(list, names);
    }
    return names;
  }

  union(a: readonly string[], b: readonly string[]): readonly string[] {
    if (b.length === 0) return a;
    if (a.length === 0) return b;
    let inner = this.#unions.get(a);
    if (!inner) this.#unions.set(a, (inner = new WeakMap()));
    let u = inner.get(b);
    if (!u) {
      u = this.names.intern([...a, ...b]);
      inner.set(b, u);
    }
    return u;
  }

  /** Whether `list` holds every name of `names` (both interned lists). */
  covers(list: readonly DecodedResource[], names: readonly string[]): boolean {
    if (names.length === 0) return true;
    const held = this.heldNames(list);
    if (held === names) return true;
    const set = new Set(held);
    return names.every((n) => set.has(n));
  }
}

const EMPTY: readonly DecodedResource[] = Object.freeze([]);

function newState(typeUrl: string, wildcard: boolean, subscribed: readonly string[]): MutableTypeState {
  return {
    typeUrl,
    wildcard,
    subscribed,
    version: '',
    nonce: '',
    held: EMPTY,
    heldVersions: undefined,
    responses: 0,
    nacks: 0,
    lastNack: '',
    ackedAt: undefined,
    responseAt: undefined,
  };
}

const minus = (a: readonly string[], b: readonly string[]): string[] => {
  const drop = new Set(b);
  return a.filter((n) => !drop.has(n));
};

export class ProxySession {
  readonly mode: AdsMode;
  readonly #cache: SessionCache;
  readonly #nodeOnFirstOnly: boolean;
  readonly #reject: RejectRule | undefined;
  /** In subscription order: what a new stream re-sends first comes first. */
  readonly #order: MutableTypeState[] = [];
  readonly #types = new Map<string, MutableTypeState>();
  #nodeSent = false;
  /** control_plane.identifier of the last response. */
  replica = '';

  constructor(options: SessionOptions) {
    this.mode = options.mode;
    this.#cache = options.cache;
    this.#nodeOnFirstOnly = options.nodeOnFirstMessageOnly ?? true;
    this.#reject = options.reject;
    this.#add(CDS, true, NameTable.EMPTY);
  }

  /** Every type this proxy subscribes to, in subscription order. */
  types(): readonly TypeState[] {
    return this.#order;
  }

  type(typeUrl: string): TypeState | undefined {
    return this.#types.get(typeUrl);
  }

  /** CDS is accepted but LDS not yet subscribed: the clusters wait for their EDS and SDS resources. */
  get warming(): boolean {
    return this.#types.get(CDS)?.ackedAt !== undefined && !this.#types.has(LDS);
  }

  /** A new stream: the requests Envoy sends first on it. */
  open(): AdsRequest[] {
    this.#nodeSent = false;
    for (const t of this.#order) t.nonce = '';
    return this.#order.map((t) => this.#subscribeAll(t));
  }

  /** A response arrived at time `now`: the requests to send, in order. */
  receive(response: AdsResponse, now: number): Received {
    const t = this.#types.get(response.typeUrl);
    if (!t) return { requests: [], outcome: 'ignored' };
    t.nonce = response.nonce;
    t.responses++;
    t.responseAt = now;
    if (response.controlPlane) this.replica = response.controlPlane;
    const incoming = response.kind === 'sotw' ? response.resources.resources : response.resources.map((r) => r.resource);
    const problem = (response.kind === 'sotw' ? response.resources.problem : problemOf(response.typeUrl, incoming)) ?? this.#reject?.(response.typeUrl, incoming);
    if (problem !== undefined) {
      t.nacks++;
      t.lastNack = problem;
      return { requests: [this.#reply(t, problem)], outcome: 'nack' };
    }
    if (response.kind === 'sotw') {
      t.held = t.wildcard ? response.resources.resources : this.#merge(t, response.resources.resources);
      t.version = response.versionInfo;
    } else {
      this.#applyDelta(t, response);
      t.version = response.systemVersionInfo;
    }
    t.ackedAt = now;
    const requests = this.#follow();
    requests.push(this.#reply(t));
    return { requests, outcome: 'ack' };
  }

  /** Envoy's initial fetch timeout ran out while the clusters were warming: go on to LDS. */
  warmTimeout(): AdsRequest[] {
    if (!this.warming) return [];
    return [this.#subscribeAll(this.#add(LDS, true, NameTable.EMPTY))];
  }

  #add(typeUrl: string, wildcard: boolean, subscribed: readonly string[]): MutableTypeState {
    const t = newState(typeUrl, wildcard, subscribed);
    if (this.mode === 'delta') t.heldVersions = new Map();
    this.#types.set(typeUrl, t);
    this.#order.push(t);
    return t;
  }

  #node(): boolean {
    const send = !this.#nodeSent || !this.#nodeOnFirstOnly;
    this.#nodeSent = true;
    return send;
  }

  /** A type's full subscription: the first request of a stream, or of a new type. */
  #subscribeAll(t: MutableTypeState): AdsRequest {
    if (this.mode === 'sotw') {
      return { kind: 'sotw', typeUrl: t.typeUrl, versionInfo: t.version, resourceNames: t.subscribed, responseNonce: t.nonce, node: this.#node() };
    }
    const versions = t.heldVersions && t.heldVersions.size > 0 ? t.heldVersions : undefined;
    return { kind: 'delta', typeUrl: t.typeUrl, subscribe: t.subscribed, unsubscribe: [], initialVersions: versions ? new Map(versions) : undefined, responseNonce: '', node: this.#node() };
  }

  /** ACK (no problem) or NACK of the last response of type `t`. */
  #reply(t: MutableTypeState, problem?: string): AdsRequest {
    const errorDetail = problem === undefined ? undefined : { code: NACK_CODE, message: problem };
    if (this.mode === 'sotw') {
      return { kind: 'sotw', typeUrl: t.typeUrl, versionInfo: t.version, resourceNames: t.subscribed, responseNonce: t.nonce, errorDetail, node: this.#node() };
    }
    return { kind: 'delta', typeUrl: t.typeUrl, subscribe: [], unsubscribe: [], responseNonce: t.nonce, errorDetail, node: this.#node() };
  }

  /** SotW, a named type: the response updates what it carries; what it leaves out stays (Envoy does not read absence as removal). */
  #merge(t: MutableTypeState, incoming: readonly DecodedResource[]): readonly DecodedResource[] {
    if (this.#cache.heldNames(incoming) === t.subscribed) return incoming;
    const wanted = new Set(t.subscribed);
    const byName = new Map<string, DecodedResource>();
    for (const r of t.held) byName.set(r.name, r);
    for (const r of incoming) if (wanted.has(r.name)) byName.set(r.name, r);
    return [...byName.values()];
  }

  #applyDelta(t: MutableTypeState, response: DeltaResponse): void {
    const versions = t.heldVersions ?? new Map<string, string>();
    const byName = new Map<string, DecodedResource>();
    for (const r of t.held) byName.set(r.name, r);
    for (const r of response.resources) {
      byName.set(r.name, r.resource);
      versions.set(r.name, r.version);
    }
    for (const name of response.removed) {
      byName.delete(name);
      versions.delete(name);
    }
    t.held = [...byName.values()];
    t.heldVersions = versions;
  }

  /** Subscriptions that follow from the clusters and listeners held; the requests for those that changed. */
  #follow(): AdsRequest[] {
    const cache = this.#cache;
    const clusters = this.#types.get(CDS)?.held ?? EMPTY;
    const listeners = this.#types.get(LDS)?.held ?? EMPTY;
    const endpoints = cache.refs(clusters, 'endpoints');
    const clusterSecrets = cache.refs(clusters, 'secrets');
    const requests: AdsRequest[] = [];
    this.#resubscribe(EDS, endpoints, requests);
    this.#resubscribe(SDS, cache.union(clusterSecrets, cache.refs(listeners, 'secrets')), requests);
    if (this.warming && cache.covers(this.#types.get(EDS)?.held ?? EMPTY, endpoints) && cache.covers(this.#types.get(SDS)?.held ?? EMPTY, clusterSecrets)) {
      requests.push(this.#subscribeAll(this.#add(LDS, true, NameTable.EMPTY)));
    }
    this.#resubscribe(RDS, cache.refs(listeners, 'routes'), requests);
    return requests;
  }

  #resubscribe(typeUrl: string, names: readonly string[], requests: AdsRequest[]): void {
    const t = this.#types.get(typeUrl);
    if (!t) {
      if (names.length > 0) requests.push(this.#subscribeAll(this.#add(typeUrl, false, names)));
      return;
    }
    if (t.subscribed === names) return;
    const previous = t.subscribed;
    t.subscribed = names;
    const wanted = new Set(names);
    if (t.held.some((r) => !wanted.has(r.name))) {
      t.held = t.held.filter((r) => wanted.has(r.name));
      if (t.heldVersions) for (const name of t.heldVersions.keys()) if (!wanted.has(name)) t.heldVersions.delete(name);
    }
    if (this.mode === 'sotw') {
      requests.push({ kind: 'sotw', typeUrl, versionInfo: t.version, resourceNames: names, responseNonce: t.nonce, node: this.#node() });
    } else {
      requests.push({ kind: 'delta', typeUrl, subscribe: minus(names, previous), unsubscribe: minus(previous, names), responseNonce: '', node: this.#node() });
    }
  }
}
