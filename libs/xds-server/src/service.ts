// The ADS service without its transport: sessions by proxy, the snapshot each proxy should hold, and
// the pushes when one changes. The controller sets snapshots; the transport opens sessions.
import { systemClock, type Clock } from '@osm/clock';
import type { envoy } from '@osm/envoy-api';
import type { Proxy, ServiceIdentity } from '@osm/mesh-model';
import type { Logger } from '@osm/observability';
import type { Snapshot } from '@osm/xds-snapshot';
import { DeltaSession } from './delta.ts';
import type { XdsError } from './errors.ts';
import type { ProxyVerifier } from './identity.ts';
import { DEFAULT_LIMITS, type AdsEvents, type AdsLimits, type RequestCommon, type Session, type SessionHost, type StreamStatus } from './session.ts';
import { SotwSession } from './sotw.ts';
import type { AdsSessionHandle, AdsStream, PeerIdentity } from './stream.ts';

export interface AdsServiceOptions {
  /** `control_plane.identifier` of every response: this replica's name. */
  readonly replicaId: string;
  readonly verifier: ProxyVerifier;
  readonly logger: Logger;
  readonly events?: AdsEvents;
  /** Whose certificate a secret name is (if it is a certificate): a proxy asking for another identity's is refused. */
  readonly secretOwner?: (name: string) => ServiceIdentity | undefined;
  readonly limits?: Partial<AdsLimits>;
  readonly clock?: Pick<Clock, 'now'>;
}

type AnySession = Session<RequestCommon>;

export class AdsService {
  readonly #host: SessionHost;
  readonly #log: Logger;
  readonly #snapshots = new Map<string, Snapshot>();
  readonly #byProxy = new Map<string, Set<AnySession>>();
  readonly #sessions = new Set<AnySession>();
  #nextId = 0;

  constructor(options: AdsServiceOptions) {
    this.#log = options.logger;
    const secretOwner = options.secretOwner ?? (() => undefined);
    this.#host = {
      replicaId: options.replicaId,
      verifier: options.verifier,
      events: options.events ?? {},
      limits: { ...DEFAULT_LIMITS, ...options.limits },
      clock: options.clock ?? systemClock,
      secretOwner,
      attach: (session) => this.#attach(session),
      detach: (session, attached) => this.#detach(session, attached),
    };
  }

  /** A state-of-the-world stream (StreamAggregatedResources). */
  openSotw(stream: AdsStream, peer: PeerIdentity): AdsSessionHandle<envoy.service.discovery.v3.DiscoveryRequest> {
    return this.#open(new SotwSession(++this.#nextId, this.#host, stream, peer, this.#log));
  }

  /** An incremental stream (DeltaAggregatedResources). */
  openDelta(stream: AdsStream, peer: PeerIdentity): AdsSessionHandle<envoy.service.discovery.v3.DeltaDiscoveryRequest> {
    return this.#open(new DeltaSession(++this.#nextId, this.#host, stream, peer, this.#log));
  }

  /** The proxy's config from now on; pushed to each of its streams (only what changed). */
  setSnapshot(snapshot: Snapshot): void {
    const sessions = this.#byProxy.get(snapshot.proxy);
    // Kept only while the proxy is connected: a proxy that left gets a fresh build when it returns.
    if (!sessions) return;
    this.#snapshots.set(snapshot.proxy, snapshot);
    for (const session of sessions) session.update(snapshot);
  }

  snapshot(uuid: string): Snapshot | undefined {
    return this.#snapshots.get(uuid);
  }

  /** uuids of the proxies with at least one verified stream here. */
  connectedProxies(): IterableIterator<string> {
    return this.#byProxy.keys();
  }

  isConnected(uuid: string): boolean {
    return this.#byProxy.has(uuid);
  }

  /** Every open stream (verified or not), oldest first. */
  streams(): StreamStatus[] {
    return [...this.#sessions].map((s) => s.status());
  }

  /** The open streams of one proxy. */
  streamsOf(uuid: string): StreamStatus[] {
    return [...(this.#byProxy.get(uuid) ?? [])].map((s) => s.status());
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** Ends every stream with `error` (shutdown: Unavailable, so proxies reconnect elsewhere); returns how many. */
  closeAll(error: XdsError): number {
    const all = [...this.#sessions];
    for (const session of all) session.close(error);
    return all.length;
  }

  #open<S extends AnySession>(session: S): S {
    this.#sessions.add(session);
    return session;
  }

  #attach(session: AnySession): Snapshot | undefined {
    const proxy = session.proxy as Proxy;
    let set = this.#byProxy.get(proxy.uuid);
    const first = !set;
    if (!set) {
      set = new Set();
      this.#byProxy.set(proxy.uuid, set);
    }
    set.add(session);
    if (first) this.#host.events.proxyConnected?.(proxy);
    return this.#snapshots.get(proxy.uuid);
  }

  #detach(session: AnySession, attached: boolean): void {
    this.#sessions.delete(session);
    const proxy = session.proxy;
    if (!attached || !proxy) return;
    const set = this.#byProxy.get(proxy.uuid);
    if (!set?.delete(session) || set.size > 0) return;
    this.#byProxy.delete(proxy.uuid);
    this.#snapshots.delete(proxy.uuid);
    this.#host.events.proxyDisconnected?.(proxy);
  }
}
