// What state-of-the-world and delta sessions share: verifying the proxy before anything is served,
// nonces, writing with back-pressure, and closing. A session never throws into its transport: every
// failure ends the stream with an XdsError, which the transport turns into a status.
import type { Clock } from '@osm/clock';
import type { Proxy, ServiceIdentity } from '@osm/mesh-model';
import type { Logger } from '@osm/observability';
import { keyOf, sameName } from '@osm/mesh-model';
import { TYPE_URLS, typeVersion, type EncodedResource, type ResourceSet, type ResourceType, type Snapshot } from '@osm/xds-snapshot';
import { XdsError } from './errors.ts';
import type { ProxyVerifier } from './identity.ts';
import type { AdsSessionHandle, AdsStream, PeerIdentity } from './stream.ts';
import { resourceTypeOf, SHORT_NAMES } from './types.ts';

/** The fields every (Delta)DiscoveryRequest has. */
export interface RequestCommon {
  readonly node?: { readonly id: string } | undefined;
  readonly typeUrl: string;
  readonly responseNonce: string;
  readonly errorDetail?: { readonly code: number; readonly message: string } | undefined;
}

export type StreamKind = 'sotw' | 'delta';

/** Hooks for metrics, logs and traces; none may throw. */
export interface AdsEvents {
  /** A proxy's first stream on this server was verified: it needs its snapshot (`AdsService.setSnapshot`). */
  proxyConnected?(proxy: Proxy): void;
  /** The proxy's last stream here ended. */
  proxyDisconnected?(proxy: Proxy): void;
  /** A stream opened and verified (`streams` of this proxy now), or closed. */
  streamOpened?(proxy: Proxy, kind: StreamKind): void;
  streamClosed?(proxy: Proxy, kind: StreamKind): void;
  /** A stream was refused before it was served (identity, protocol). */
  refused?(peer: PeerIdentity, error: XdsError): void;
  /** A request arrived; `type` undefined for a type URL we do not serve. */
  request?(proxy: Proxy, type: ResourceType | undefined): void;
  /**
   * A response was handed to the transport (`ok`) or could not be. `snapshot` is the one it came from;
   * `version` is the version it carries (what `ack` reports when the proxy accepts it; '' for a delta
   * response that leaves removals to a later one).
   */
  response?(proxy: Proxy, type: ResourceType, ok: boolean, snapshot: Snapshot, version: string): void;
  ack?(proxy: Proxy, type: ResourceType, version: string): void;
  nack?(proxy: Proxy, type: ResourceType, version: string, message: string): void;
}

export interface AdsLimits {
  /** Snapshot updates that may arrive while a stream cannot take more; one more closes it (ResourceExhausted). Default 32. */
  readonly maxPendingUpdates: number;
  /** Requests held while the proxy is being verified. Default 16. */
  readonly maxQueuedRequests: number;
  /** Resource names one type's subscription may hold. Default 20,000. */
  readonly maxSubscribedNames: number;
}

export const DEFAULT_LIMITS: AdsLimits = { maxPendingUpdates: 32, maxQueuedRequests: 16, maxSubscribedNames: 20_000 };

/** ACK state of one type on one stream, for the debug endpoints. */
export interface TypeStatus {
  readonly type: string;
  readonly typeUrl: string;
  /** How many names the proxy subscribed to, or `wildcard`. */
  readonly subscribed: number | 'wildcard';
  readonly sent?: { readonly version: string; readonly nonce: string };
  readonly acked?: { readonly version: string; readonly nonce: string };
  readonly nacks: number;
  readonly lastNack?: { readonly version: string; readonly nonce: string; readonly message: string };
}

/** The status of one type from a session's state (both protocols keep these fields). */
export function typeStatus(state: {
  readonly type: ResourceType;
  readonly names: ReadonlySet<string> | undefined;
  readonly sent: { readonly version: string; readonly nonce: string } | undefined;
  readonly acked: { readonly version: string; readonly nonce: string } | undefined;
  readonly nacks: number;
  readonly lastNack: { readonly version: string; readonly nonce: string; readonly message: string } | undefined;
}): TypeStatus {
  return {
    type: SHORT_NAMES[state.type],
    typeUrl: TYPE_URLS[state.type],
    subscribed: state.names ? state.names.size : 'wildcard',
    ...(state.sent ? { sent: { version: state.sent.version, nonce: state.sent.nonce } } : {}),
    ...(state.acked ? { acked: state.acked } : {}),
    nacks: state.nacks,
    ...(state.lastNack ? { lastNack: state.lastNack } : {}),
  };
}

export interface StreamStatus {
  readonly id: number;
  readonly kind: StreamKind;
  readonly peer: string;
  readonly connectedAt: string;
  readonly proxy?: { readonly uuid: string; readonly pod: string; readonly identity: string };
  readonly types: readonly TypeStatus[];
}

/** What a session needs from the service that owns it. */
export interface SessionHost {
  readonly replicaId: string;
  readonly verifier: ProxyVerifier;
  readonly events: AdsEvents;
  readonly limits: AdsLimits;
  readonly clock: Pick<Clock, 'now'>;
  /** Whose certificate a secret name is, if it is one. */
  secretOwner(name: string): ServiceIdentity | undefined;
  /** Registers a verified session; returns the proxy's current snapshot, if built. */
  attach(session: Session<RequestCommon>): Snapshot | undefined;
  /** Forgets a closed session; `attached` when it had been attached. */
  detach(session: Session<RequestCommon>, attached: boolean): void;
}

/** Resources of one type that a stream should hold: all of them, or those it subscribed to. */
export interface Selection {
  readonly version: string;
  readonly resources: readonly EncodedResource[];
  readonly byName: ReadonlyMap<string, EncodedResource>;
}

const wholeSets = new WeakMap<ResourceSet, Selection>();

/** The subscribed part of a set; its version is the set's when that is all of it, else a hash of the part. */
export function select(set: ResourceSet, names: ReadonlySet<string> | undefined): Selection {
  const whole = (): Selection => {
    let s = wholeSets.get(set);
    if (!s) {
      s = { version: set.version, resources: [...set.resources.values()], byName: set.resources };
      wholeSets.set(set, s);
    }
    return s;
  };
  if (!names) return whole();
  const picked: EncodedResource[] = [];
  for (const name of names) {
    const r = set.resources.get(name);
    if (r) picked.push(r);
  }
  if (picked.length === set.resources.size) return whole();
  return { version: typeVersion(picked), resources: picked, byName: new Map(picked.map((r) => [r.name, r])) };
}

/** The selection plus what the client holds beyond it (sent before the removals, make-before-break). */
export function union(selection: Selection, held: ReadonlyMap<string, EncodedResource>): Selection {
  const all = new Map(selection.byName);
  for (const [name, r] of held) if (!all.has(name)) all.set(name, r);
  const resources = [...all.values()];
  return { version: typeVersion(resources), resources, byName: all };
}

type Phase = 'new' | 'verifying' | 'serving' | 'closed';

export abstract class Session<Request extends RequestCommon> implements AdsSessionHandle<Request> {
  readonly id: number;
  abstract readonly kind: StreamKind;
  readonly peer: PeerIdentity;
  readonly connectedAt: number;
  proxy: Proxy | undefined;
  protected readonly host: SessionHost;
  protected snapshot: Snapshot | undefined;
  /** The service's logger: the stream's own child of it is made on first use (see `log`). */
  readonly #parentLog: Logger;
  #log: Logger | undefined;
  readonly #stream: AdsStream;
  readonly #abort = new AbortController();
  #phase: Phase = 'new';
  #queued: Request[] = [];
  #blocked = false;
  #updatesWhileBlocked = 0;
  #nonce = 0;
  readonly #unknownTypes = new Set<string>();

  constructor(id: number, host: SessionHost, stream: AdsStream, peer: PeerIdentity, log: Logger) {
    this.id = id;
    this.host = host;
    this.#stream = stream;
    this.peer = peer;
    this.connectedAt = host.clock.now();
    this.#parentLog = log;
  }

  /**
   * This stream's logger: stream id, kind and peer, and the proxy and pod once verified. Made on first
   * use: pino serializes a child's bindings when it is created, and most streams never log (a
   * reconnect storm opens thousands at once).
   */
  protected get log(): Logger {
    if (!this.#log) {
      const p = this.proxy;
      this.#log = this.#parentLog.child({ stream: this.id, kind: this.kind, peer: this.peer.address, ...(p ? { proxy: p.uuid, pod: `${p.namespace}/${p.podName}` } : {}) });
    }
    return this.#log;
  }

  get closed(): boolean {
    return this.#phase === 'closed';
  }

  receive(request: Request): void {
    switch (this.#phase) {
      case 'closed':
        return;
      case 'new': {
        const nodeId = request.node?.id ?? '';
        if (nodeId === '') return this.close(new XdsError('InvalidArgument', 'the first request on an ADS stream must carry node.id (the proxy uuid)'));
        this.#phase = 'verifying';
        this.#queued.push(request);
        void this.#verify(nodeId);
        return;
      }
      case 'verifying':
        if (this.#queued.length >= this.host.limits.maxQueuedRequests) {
          return this.close(new XdsError('ResourceExhausted', `more than ${this.host.limits.maxQueuedRequests} requests before the proxy was verified`));
        }
        this.#queued.push(request);
        return;
      case 'serving':
        return this.#handleOne(request);
    }
  }

  drained(): void {
    if (!this.#blocked) return;
    this.#blocked = false;
    this.#updatesWhileBlocked = 0;
    if (this.#phase === 'serving') this.flush();
  }

  ended(): void {
    if (this.#phase === 'closed') return;
    if (this.#parentLog.isLevelEnabled('debug')) this.log.debug('stream ended by the proxy');
    this.#end();
  }

  /** A new snapshot for this stream's proxy (from AdsService.setSnapshot). */
  update(snapshot: Snapshot): void {
    if (this.#phase !== 'serving') return;
    this.snapshot = snapshot;
    if (this.#blocked) {
      if (++this.#updatesWhileBlocked > this.host.limits.maxPendingUpdates) {
        this.close(
          new XdsError('ResourceExhausted', `the proxy did not read its responses while ${this.#updatesWhileBlocked} configuration updates arrived; closing the stream so it reconnects and gets the current config`),
        );
      }
      return;
    }
    this.flush();
  }

  /** Ends the stream with `error` as its status (OK when undefined). */
  close(error?: XdsError): void {
    if (this.#phase === 'closed') return;
    if (error) this.log.warn({ code: error.code, reason: error.message }, 'closing ADS stream');
    this.#end();
    try {
      this.#stream.close(error);
    } catch (err) {
      this.log.debug({ err }, 'stream close failed (already gone)');
    }
  }

  status(): StreamStatus {
    const p = this.proxy;
    return {
      id: this.id,
      kind: this.kind,
      peer: this.peer.address,
      connectedAt: new Date(this.connectedAt).toISOString(),
      ...(p ? { proxy: { uuid: p.uuid, pod: `${p.namespace}/${p.podName}`, identity: keyOf(p.identity) } } : {}),
      types: this.types(),
    };
  }

  /** Handles one request of a verified proxy. */
  protected abstract handle(request: Request, type: ResourceType): void;
  /** Sends what the proxy is missing, in push order, as far as the stream takes it. */
  protected abstract flush(): void;
  protected abstract types(): TypeStatus[];

  protected nextNonce(): string {
    return (++this.#nonce).toString(36);
  }

  /** Hands a response to the transport; false when the session must stop sending (blocked or closed). */
  protected write(type: ResourceType, message: Uint8Array, version: string): boolean {
    const proxy = this.proxy as Proxy;
    const snapshot = this.snapshot as Snapshot;
    let more: boolean;
    try {
      more = this.#stream.send(message);
    } catch (err) {
      this.host.events.response?.(proxy, type, false, snapshot, version);
      this.log.warn({ err, type: SHORT_NAMES[type] }, 'could not send a response; closing the stream');
      this.close(new XdsError('Unavailable', 'the response could not be written', { cause: err }));
      return false;
    }
    this.host.events.response?.(proxy, type, true, snapshot, version);
    if (!more) this.#blocked = true;
    return more && this.#phase === 'serving';
  }

  /** The snapshot to send from, when the stream can take responses now. */
  protected sendable(): Snapshot | undefined {
    return this.#phase === 'serving' && !this.#blocked ? this.snapshot : undefined;
  }

  protected acked(type: ResourceType, version: string): void {
    this.host.events.ack?.(this.proxy as Proxy, type, version);
  }

  /** Refuses (and returns false) when a name is the certificate of an identity other than the proxy's. */
  protected allowSecrets(names: Iterable<string>): boolean {
    const own = (this.proxy as Proxy).identity;
    for (const name of names) {
      const owner = this.host.secretOwner(name);
      if (owner && !sameName(owner, own)) {
        this.close(
          new XdsError('PermissionDenied', `secret ${JSON.stringify(name)} is the certificate of ${keyOf(owner)}; the proxy runs as ${keyOf(own)} and may only receive its own identity's certificate`),
        );
        return false;
      }
    }
    return true;
  }

  /** Applies the subscription limit; returns false (after logging) when `count` exceeds it. */
  protected withinNameLimit(type: ResourceType, count: number): boolean {
    if (count <= this.host.limits.maxSubscribedNames) return true;
    this.log.warn({ type: SHORT_NAMES[type], names: count, limit: this.host.limits.maxSubscribedNames }, 'subscription has more names than allowed');
    return false;
  }

  /** Logs a NACK and reports it; the caller keeps the version from being sent again. */
  protected nacked(type: ResourceType, version: string, nonce: string, keptVersion: string, message: string): void {
    this.log.warn(
      { type: SHORT_NAMES[type], rejectedVersion: version, keptVersion, nonce, errorDetail: message },
      'proxy rejected a response (NACK): it keeps its last good config; this version is not sent again',
    );
    this.host.events.nack?.(this.proxy as Proxy, type, version, message);
  }

  #handleOne(request: Request): void {
    const type = resourceTypeOf(request.typeUrl);
    this.host.events.request?.(this.proxy as Proxy, type);
    if (type === undefined) {
      // Envoy may ask for types we do not serve (another xDS API in its bootstrap); say so once, serve the rest.
      if (!this.#unknownTypes.has(request.typeUrl) && this.#unknownTypes.size < 16) {
        this.#unknownTypes.add(request.typeUrl);
        this.log.warn({ typeUrl: request.typeUrl.slice(0, 200) }, 'request for a type URL this server does not serve; ignored');
      }
      return;
    }
    this.handle(request, type);
  }

  async #verify(nodeId: string): Promise<void> {
    let result;
    try {
      result = await this.host.verifier.verify(this.peer, nodeId, this.#abort.signal);
    } catch (err) {
      result = { ok: false as const, error: new XdsError('Unavailable', `the proxy could not be verified: ${err instanceof Error ? err.message : String(err)}`, { cause: err }) };
    }
    if (this.#phase === 'closed') return;
    if (!result.ok) {
      this.host.events.refused?.(this.peer, result.error);
      this.close(result.error);
      return;
    }
    const proxy = result.proxy;
    this.proxy = proxy;
    // Made again with the proxy and pod, if it was made before.
    this.#log = undefined;
    this.#phase = 'serving';
    // Debug, as OSM logs a proxy's registration (pkg/envoy/registry/registry.go): at info, a reconnect
    // storm of thousands of proxies spent a tenth of the controller's CPU writing these lines.
    if (this.#parentLog.isLevelEnabled('debug')) this.log.debug({ identity: keyOf(proxy.identity) }, 'proxy connected');
    const snapshot = this.host.attach(this);
    this.snapshot ??= snapshot;
    this.host.events.streamOpened?.(proxy, this.kind);
    const queued = this.#queued;
    this.#queued = [];
    for (const request of queued) {
      if (this.#phase !== 'serving') return;
      this.#handleOne(request);
    }
  }

  #end(): void {
    const wasServing = this.#phase === 'serving';
    // Only a verification in progress waits on the signal; an abort makes a DOMException with its stack
    // trace, which a drain of thousands of served streams would pay for nothing.
    if (this.#phase === 'verifying') this.#abort.abort();
    this.#phase = 'closed';
    this.host.detach(this, wasServing);
    if (wasServing && this.proxy) this.host.events.streamClosed?.(this.proxy, this.kind);
  }
}
