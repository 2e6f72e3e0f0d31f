// Incremental ADS (DeltaAggregatedResources): per stream and type, the version of every resource the
// proxy holds (from initial_resource_versions on a new stream, then from what we sent), so a push
// carries only what changed and a reconnecting proxy that holds the current config receives nothing.
// A NACKed resource version is not sent again until it changes; removals go out after the other
// types' updates (make-before-break).
import type { envoy } from '@osm/envoy-api';
import type { EncodedResource, ResourceType } from '@osm/xds-snapshot';
import { TYPE_URLS } from '@osm/xds-snapshot';
import { XdsError } from './errors.ts';
import { select, Session, typeStatus, type Selection, type TypeStatus } from './session.ts';
import { isWildcardType, PUSH_ORDER, SHORT_NAMES } from './types.ts';
import { encodeDeltaDiscoveryResponse } from './wire.ts';

type DeltaDiscoveryRequest = envoy.service.discovery.v3.DeltaDiscoveryRequest;

/** Responses awaiting an answer, per type; older ones beyond this are forgotten (their answers are then ignored). */
const MAX_IN_FLIGHT = 16;

interface InFlight {
  /** '' when the response left the proxy short of a complete version (removals still to come). */
  readonly version: string;
  readonly resources: readonly (readonly [name: string, version: string])[];
}

interface TypeState {
  readonly type: ResourceType;
  /** Subscribed names; undefined for a wildcard type. */
  names: Set<string> | undefined;
  /** Resource versions the proxy holds (or was sent). */
  readonly known: Map<string, string>;
  /** Resource versions the proxy rejected. */
  readonly rejected: Map<string, string>;
  readonly inFlight: Map<string, InFlight>;
  /** Whether the proxy needs an answer even if nothing differs (a fresh subscription). */
  mustAnswer: boolean;
  sent: { version: string; nonce: string } | undefined;
  acked: { version: string; nonce: string } | undefined;
  nacks: number;
  lastNack: { version: string; nonce: string; message: string } | undefined;
}

interface Plan {
  readonly state: TypeState;
  readonly selection: Selection;
  readonly updates: readonly EncodedResource[];
}

const removalsOf = (state: TypeState, selection: Selection): string[] => [...state.known.keys()].filter((name) => !selection.byName.has(name));

export class DeltaSession extends Session<DeltaDiscoveryRequest> {
  readonly kind = 'delta' as const;
  readonly #types = new Map<ResourceType, TypeState>();

  protected handle(request: DeltaDiscoveryRequest, type: ResourceType): void {
    let state = this.#types.get(type);
    if (!state) {
      const initial = Object.entries(request.initialResourceVersions);
      if (!this.#withinLimit(type, initial.length)) return;
      state = {
        type,
        names: isWildcardType(type) ? undefined : new Set(),
        known: new Map(initial),
        rejected: new Map(),
        inFlight: new Map(),
        mustAnswer: initial.length === 0,
        sent: undefined,
        acked: undefined,
        nacks: 0,
        lastNack: undefined,
      };
      this.#types.set(type, state);
    }
    if (request.responseNonce !== '') this.#answer(state, request);
    if (state.names) {
      // Subscription changes are increments: applied whatever the nonce says.
      for (const name of request.resourceNamesUnsubscribe) {
        state.names.delete(name);
        state.known.delete(name);
        state.rejected.delete(name);
      }
      if (type === 'secrets' && !this.allowSecrets(request.resourceNamesSubscribe)) return;
      for (const name of request.resourceNamesSubscribe) state.names.add(name);
      if (!this.#withinLimit(type, state.names.size)) return;
    }
    this.flush();
  }

  protected flush(): void {
    const snapshot = this.sendable();
    if (!snapshot) return;
    const plan: (Plan | undefined)[] = PUSH_ORDER.map((type) => {
      const state = this.#types.get(type);
      if (!state) return undefined;
      const selection = select(snapshot.types[type], state.names);
      const updates = selection.resources.filter((r) => state.known.get(r.name) !== r.version && state.rejected.get(r.name) !== r.version);
      return { state, selection, updates };
    });
    const needed = (p: Plan | undefined): boolean => p !== undefined && (p.updates.length > 0 || p.state.mustAnswer);
    for (let i = 0; i < plan.length; i++) {
      const p = plan[i];
      if (!p || !needed(p)) continue;
      // Removals ride along unless a later type still has updates that must arrive first.
      const removals = plan.slice(i + 1).some(needed) ? [] : removalsOf(p.state, p.selection);
      const complete = removals.length === removalsOf(p.state, p.selection).length;
      if (!this.#respond(p.state, complete ? p.selection.version : '', p.updates, removals)) return;
    }
    for (const type of [...PUSH_ORDER].reverse()) {
      const p = plan[PUSH_ORDER.indexOf(type)];
      if (!p) continue;
      const removals = removalsOf(p.state, p.selection);
      if (removals.length > 0 && !this.#respond(p.state, p.selection.version, [], removals)) return;
    }
  }

  protected types(): TypeStatus[] {
    return [...this.#types.values()].map(typeStatus);
  }

  #withinLimit(type: ResourceType, count: number): boolean {
    if (this.withinNameLimit(type, count)) return true;
    // An incremental subscription cannot be partly ignored without the two sides disagreeing: end it.
    this.close(new XdsError('ResourceExhausted', `subscription to ${count} ${SHORT_NAMES[type]} resources; at most ${this.host.limits.maxSubscribedNames} are allowed`));
    return false;
  }

  #answer(state: TypeState, request: DeltaDiscoveryRequest): void {
    const nonce = request.responseNonce;
    const answered = state.inFlight.get(nonce);
    if (!answered) {
      this.log.debug({ type: SHORT_NAMES[state.type], nonce: nonce.slice(0, 64) }, 'answer to an unknown nonce; ignored');
      if (request.errorDetail) this.nacked(state.type, '', nonce, '', request.errorDetail.message);
      return;
    }
    // Answers come in order: anything sent before this response will not be answered any more.
    for (const key of state.inFlight.keys()) {
      state.inFlight.delete(key);
      if (key === nonce) break;
    }
    if (request.errorDetail) {
      for (const [name, version] of answered.resources) state.rejected.set(name, version);
      state.nacks++;
      state.lastNack = { version: answered.version, nonce, message: request.errorDetail.message };
      this.nacked(state.type, answered.version, nonce, state.acked?.version ?? '', request.errorDetail.message);
      return;
    }
    for (const [name] of answered.resources) state.rejected.delete(name);
    if (answered.version !== '') {
      state.acked = { version: answered.version, nonce };
      this.acked(state.type, answered.version);
    }
  }

  #respond(state: TypeState, version: string, resources: readonly EncodedResource[], removed: readonly string[]): boolean {
    const nonce = this.nextNonce();
    const message = encodeDeltaDiscoveryResponse({ typeUrl: TYPE_URLS[state.type], version, resources, removed, nonce, controlPlane: this.host.replicaId });
    for (const r of resources) state.known.set(r.name, r.version);
    for (const name of removed) {
      state.known.delete(name);
      state.rejected.delete(name);
    }
    state.inFlight.set(nonce, { version, resources: resources.map((r) => [r.name, r.version] as const) });
    if (state.inFlight.size > MAX_IN_FLIGHT) state.inFlight.delete(state.inFlight.keys().next().value as string);
    state.mustAnswer = false;
    state.sent = { version, nonce };
    return this.write(state.type, message, version);
  }
}
