// State-of-the-world ADS (StreamAggregatedResources), per stream and type: version_info and nonces as
// go-control-plane's server and cache handle them (a request whose nonce is not the last one sent is
// stale and ignored; a type is answered when the proxy does not hold the current version, so a new
// stream that already holds it gets nothing), plus what go-control-plane lacks: a NACKed version is not
// sent again until the config changes, and removals from the wildcard types go out only after the
// other types' updates (make-before-break).
import type { envoy } from '@osm/envoy-api';
import type { EncodedResource, ResourceSet, ResourceType } from '@osm/xds-snapshot';
import { TYPE_URLS } from '@osm/xds-snapshot';
import { select, Session, typeStatus, union, type Selection, type TypeStatus } from './session.ts';
import { isWildcardType, PUSH_ORDER, SHORT_NAMES } from './types.ts';
import { encodeDiscoveryResponse } from './wire.ts';

type DiscoveryRequest = envoy.service.discovery.v3.DiscoveryRequest;

interface Sent {
  readonly version: string;
  readonly nonce: string;
  readonly resources: ReadonlyMap<string, EncodedResource>;
}

interface TypeState {
  readonly type: ResourceType;
  /** Subscribed names; undefined for a wildcard type. */
  names: ReadonlySet<string> | undefined;
  /** The version the proxy said it holds in its last request. */
  clientVersion: string;
  /** Our last response on this stream. */
  sent: Sent | undefined;
  acked: { version: string; nonce: string } | undefined;
  /** The version the proxy rejected; not sent again. */
  nackedVersion: string | undefined;
  nacks: number;
  lastNack: { version: string; nonce: string; message: string } | undefined;
  /** The last selection, reused while neither the snapshot's set nor the subscription changed. */
  selected: { set: ResourceSet; names: ReadonlySet<string> | undefined; selection: Selection } | undefined;
}

interface Plan {
  readonly state: TypeState;
  readonly selection: Selection;
  readonly needed: boolean;
}

/** The request names exactly the subscribed names (an ACK usually does): keep the set, and the selection made from it. */
const sameNames = (held: ReadonlySet<string> | undefined, names: readonly string[]): held is ReadonlySet<string> => {
  if (!held || held.size !== names.length) return false;
  for (const name of names) if (!held.has(name)) return false;
  return true;
};

const hasRemovals = (held: ReadonlyMap<string, EncodedResource>, wanted: ReadonlyMap<string, EncodedResource>): boolean => {
  for (const name of held.keys()) if (!wanted.has(name)) return true;
  return false;
};

export class SotwSession extends Session<DiscoveryRequest> {
  readonly kind = 'sotw' as const;
  readonly #types = new Map<ResourceType, TypeState>();

  protected handle(request: DiscoveryRequest, type: ResourceType): void {
    let state = this.#types.get(type);
    if (state?.sent) {
      if (request.responseNonce !== state.sent.nonce) {
        // Stale: an answer to a response we have since superseded (or a nonce we never sent). The proxy
        // answers the newer response too, with its current subscription.
        this.log.debug({ type: SHORT_NAMES[type], nonce: request.responseNonce.slice(0, 64), expected: state.sent.nonce }, 'stale nonce; request ignored');
        return;
      }
      if (request.errorDetail) {
        state.nackedVersion = state.sent.version;
        state.nacks++;
        state.lastNack = { version: state.sent.version, nonce: state.sent.nonce, message: request.errorDetail.message };
        this.nacked(type, state.sent.version, state.sent.nonce, request.versionInfo, request.errorDetail.message);
      } else {
        state.acked = { version: request.versionInfo, nonce: request.responseNonce };
        this.acked(type, request.versionInfo);
      }
    } else if (request.errorDetail) {
      // An error about a response of an earlier stream (another replica, before a restart): report it.
      this.nacked(type, '', request.responseNonce, request.versionInfo, request.errorDetail.message);
    }
    let names: ReadonlySet<string> | undefined;
    if (!isWildcardType(type)) {
      // A request beyond the limit is ignored whole: the stream keeps its previous subscription.
      if (!this.withinNameLimit(type, request.resourceNames.length)) return;
      if (type === 'secrets' && !this.allowSecrets(request.resourceNames)) return;
      names = sameNames(state?.names, request.resourceNames) ? state?.names : new Set(request.resourceNames);
    }
    if (!state) {
      state = { type, names, clientVersion: '', sent: undefined, acked: undefined, nackedVersion: undefined, nacks: 0, lastNack: undefined, selected: undefined };
      this.#types.set(type, state);
    }
    state.names = names;
    state.clientVersion = request.versionInfo;
    this.flush();
  }

  protected flush(): void {
    const snapshot = this.sendable();
    if (!snapshot) return;
    const plan: (Plan | undefined)[] = PUSH_ORDER.map((type) => {
      const state = this.#types.get(type);
      if (!state) return undefined;
      // Most flushes follow an ACK of one type: the others' selections are the ones made before.
      const set = snapshot.types[type];
      let selection = state.selected?.set === set && state.selected.names === state.names ? state.selected.selection : undefined;
      if (!selection) {
        selection = select(set, state.names);
        state.selected = { set, names: state.names, selection };
      }
      const held = state.sent?.version ?? state.clientVersion;
      return { state, selection, needed: selection.version !== held && selection.version !== state.nackedVersion };
    });
    // Updates and additions, clusters first: what the listeners and routes will use arrives before them.
    for (let i = 0; i < plan.length; i++) {
      const p = plan[i];
      if (!p?.needed) continue;
      let target = p.selection;
      const sent = p.state.sent;
      if (isWildcardType(p.state.type) && sent && hasRemovals(sent.resources, p.selection.byName) && plan.slice(i + 1).some((q) => q?.needed)) {
        // Keep what the proxy holds until the types after this one no longer refer to it.
        target = union(p.selection, sent.resources);
        if (target.version === sent.version) continue;
      }
      if (!this.#respond(p.state, target)) return;
    }
    // Removals last, listeners before the clusters they used.
    for (const type of ['listeners', 'clusters'] as const) {
      const p = plan[PUSH_ORDER.indexOf(type)];
      if (!p?.state.sent || p.state.sent.version === p.selection.version || p.selection.version === p.state.nackedVersion) continue;
      if (!this.#respond(p.state, p.selection)) return;
    }
  }

  protected types(): TypeStatus[] {
    return [...this.#types.values()].map(typeStatus);
  }

  #respond(state: TypeState, selection: Selection): boolean {
    const nonce = this.nextNonce();
    const message = encodeDiscoveryResponse({ typeUrl: TYPE_URLS[state.type], version: selection.version, resources: selection.resources, nonce, controlPlane: this.host.replicaId });
    state.sent = { version: selection.version, nonce, resources: selection.byName };
    state.nackedVersion = undefined;
    return this.write(state.type, message, selection.version);
  }
}
