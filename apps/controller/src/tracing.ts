// Traces of the serving path, one per catalog batch: from the Kubernetes events it coalesced, through
// the translation and diff of the model and each affected proxy's snapshot build, to each push's ACK
// (or NACK) by the proxy. Made only when tracing is on: with it off, run.ts wires none of this and no
// span object is created.
import type { Clock, TimerHandle } from '@osm/clock';
import type { MeshInformers } from '@osm/k8s-informers';
import type { CatalogBatch } from '@osm/mesh-catalog';
import { keyOf, type Proxy } from '@osm/mesh-model';
import { failSpan, spanContext, type Attributes, type Context, type Span, type Tracer } from '@osm/observability';
import { SHORT_NAMES, type AdsEvents } from '@osm/xds-server';
import type { ResourceType, Snapshot } from '@osm/xds-snapshot';
import { topicOf } from './metrics.ts';

/** Kubernetes events named on a batch span; beyond this only counted. */
export const MAX_EVENTS_PER_BATCH = 20;
/** A push still unanswered after this long ends (as an error): a span must end to be exported. */
const ANSWER_TIMEOUT_MS = 60_000;

export interface KubeEvent {
  /** OSM's topic of the object kind (`endpointslice`, `pod`, ...). */
  readonly kind: string;
  readonly action: 'added' | 'updated' | 'deleted';
  readonly object: { readonly metadata: { readonly namespace?: string; readonly name?: string; readonly resourceVersion?: string } };
}

export interface BatchTracingOptions {
  readonly tracer: Tracer;
  readonly clock: Pick<Clock, 'now' | 'setTimer'>;
  /** Above this many proxies in a batch, only this many (spread over the sorted list) get spans. */
  readonly maxProxiesPerBatch: number;
  /** Default 60 s. */
  readonly answerTimeoutMs?: number;
}

interface BatchTrace {
  readonly span: Span;
  readonly context: Context;
}

interface PushTrace {
  readonly proxy: string;
  readonly span: Span;
  readonly snapshot: Snapshot;
  /** Types sent from this snapshot, with the version each last response carried, until answered. */
  readonly pending: Map<ResourceType, string>;
  readonly sent: Set<ResourceType>;
  timer?: TimerHandle;
}

const superseded = (span: Span): void => void span.setAttribute('osm.xds.superseded', true);

/** `max` of `items`, evenly spread (all of them when there are no more). */
export function spread<T>(items: readonly T[], max: number): T[] {
  if (items.length <= max) return [...items];
  const picked: T[] = [];
  for (let i = 0; i < max; i++) picked.push(items[Math.floor((i * items.length) / max)] as T);
  return picked;
}

export class BatchTracing {
  readonly #tracer: Tracer;
  readonly #clock: Pick<Clock, 'now' | 'setTimer'>;
  readonly #max: number;
  readonly #answerTimeoutMs: number;
  /** Events since the last batch: the first MAX_EVENTS_PER_BATCH, and how many in all. */
  #events: { at: number; text: string }[] = [];
  #eventCount = 0;
  #translatingAt: number | undefined;
  /** Proxies whose next build belongs to a traced batch. */
  readonly #queued = new Map<string, BatchTrace>();
  /** Pushes waiting for their proxy's answer, by proxy uuid. */
  readonly #pushes = new Map<string, PushTrace>();

  constructor(options: BatchTracingOptions) {
    this.#tracer = options.tracer;
    this.#clock = options.clock;
    this.#max = options.maxProxiesPerBatch;
    this.#answerTimeoutMs = options.answerTimeoutMs ?? ANSWER_TIMEOUT_MS;
  }

  /** Notes every informer event, for the next batch span. */
  watch(informers: MeshInformers): void {
    for (const informer of informers.all()) {
      const kind = topicOf(informer.name);
      informer.addHandler({
        onAdd: (object) => this.kubeEvent({ kind, action: 'added', object }),
        onUpdate: (object) => this.kubeEvent({ kind, action: 'updated', object }),
        onDelete: (object) => this.kubeEvent({ kind, action: 'deleted', object }),
      });
    }
  }

  /** A Kubernetes event the informers saw (the catalog will coalesce it into its next batch). */
  kubeEvent(event: KubeEvent): void {
    this.#eventCount++;
    if (this.#events.length >= MAX_EVENTS_PER_BATCH) return;
    const m = event.object.metadata;
    const name = m.namespace ? `${m.namespace}/${m.name ?? ''}` : (m.name ?? '');
    this.#events.push({ at: this.#clock.now(), text: `${event.kind} ${name} ${event.action} rv=${m.resourceVersion ?? ''}` });
  }

  /** The catalog starts reading the objects to translate (then diffs and publishes, in one go). */
  translating(): void {
    this.#translatingAt = this.#clock.now();
  }

  /**
   * A batch was published and `queued` (the connected proxies it affects) handed to the builds: starts
   * its trace. Returns a function that ends the batch span, to call once those builds are done.
   */
  onBatch(batch: CatalogBatch, queued: readonly string[]): () => void {
    const now = this.#clock.now();
    const translatedFrom = this.#translatingAt ?? now;
    const events = this.#events;
    const eventCount = this.#eventCount;
    this.#events = [];
    this.#eventCount = 0;
    this.#translatingAt = undefined;
    const traced = spread(queued, this.#max);
    const span = this.#tracer.startSpan('catalog.batch', {
      startTime: events[0]?.at ?? translatedFrom,
      attributes: {
        'osm.batch.sequence': batch.sequence,
        'osm.batch.changes': batch.changes,
        'osm.batch.all_proxies': batch.allProxies,
        'osm.batch.affected_proxies': batch.affectedProxies.length,
        'osm.batch.connected_affected_proxies': queued.length,
        'osm.batch.traced_proxies': traced.length,
        'osm.batch.problems': batch.problems.length,
        'osm.mesh.proxies': batch.model.proxies.size,
        'osm.mesh.services': batch.model.services.size,
        'osm.kube.events': events.map((e) => e.text),
        'osm.kube.event_count': eventCount,
      },
    });
    if (!span.isRecording()) {
      span.end();
      return () => undefined;
    }
    const context = spanContext(span);
    const diff = batch.diff;
    const diffAttributes: Attributes = diff
      ? {
          'osm.diff.changed_services': diff.changedServices.length,
          'osm.diff.changed_endpoints': diff.changedEndpoints.length,
          'osm.diff.changed_proxies': diff.changedProxies.length,
          'osm.diff.changed_policies': diff.changedPolicies.length,
        }
      : { 'osm.diff.first_model': true };
    this.#tracer.startSpan('model.diff', { startTime: translatedFrom, attributes: diffAttributes }, context).end(now);
    const trace = { span, context };
    for (const uuid of traced) this.#queued.set(uuid, trace);
    return () => {
      // Proxies of this batch not built by now (pod gone, certificate failed, superseded) get no spans.
      for (const uuid of traced) if (this.#queued.get(uuid) === trace) this.#queued.delete(uuid);
      span.end(this.#clock.now());
    };
  }

  /** Wraps ProxyConfigs' publish: a traced proxy's build becomes a span, and its push one that ends at the answer. */
  publish(snapshot: Snapshot, startedAt: number, push: () => void): void {
    const batch = this.#queued.get(snapshot.proxy);
    if (!batch) return push();
    this.#queued.delete(snapshot.proxy);
    const now = this.#clock.now();
    const attributes = { 'osm.proxy.uuid': snapshot.proxy };
    this.#tracer.startSpan('snapshot.build', { startTime: startedAt, attributes }, batch.context).end(now);
    this.#end(snapshot.proxy, superseded);
    const trace: PushTrace = { proxy: snapshot.proxy, span: this.#tracer.startSpan('xds.push', { startTime: now, attributes }, batch.context), snapshot, pending: new Map(), sent: new Set() };
    this.#pushes.set(snapshot.proxy, trace);
    try {
      push();
    } finally {
      if (trace.pending.size === 0) {
        // Nothing left to send (the proxy holds this config already), or the stream failed.
        this.#end(snapshot.proxy);
      } else if (this.#pushes.get(snapshot.proxy) === trace) {
        trace.timer = this.#clock.setTimer(() => this.#end(trace.proxy, (span) => failSpan(span, `no answer from the proxy within ${this.#answerTimeoutMs / 1000} s`)), this.#answerTimeoutMs);
      }
    }
  }

  /** The ADS hooks that follow a push to its answer. */
  readonly events: AdsEvents = {
    response: (proxy, type, ok, snapshot, version) => {
      const trace = this.#pushes.get(proxy.uuid);
      if (!trace) return;
      // A response from a newer snapshot (an untraced rebuild: a reconnect, a renewed certificate) went out first.
      if (trace.snapshot !== snapshot) return this.#end(proxy.uuid, superseded);
      if (!ok) return this.#end(proxy.uuid, (span) => failSpan(span, `the ${SHORT_NAMES[type]} response could not be written to the stream`));
      trace.pending.set(type, version);
      trace.sent.add(type);
      this.#describe(trace, proxy);
    },
    ack: (proxy, type, version) => {
      const trace = this.#pushes.get(proxy.uuid);
      if (trace?.pending.get(type) !== version) return;
      trace.pending.delete(type);
      if (trace.pending.size === 0) this.#end(proxy.uuid);
    },
    nack: (proxy, type, version, message) => {
      const trace = this.#pushes.get(proxy.uuid);
      if (!trace?.pending.has(type)) return;
      this.#end(proxy.uuid, (span) => {
        span.setAttributes({ 'osm.xds.nack.type': SHORT_NAMES[type], 'osm.xds.nack.version': version });
        failSpan(span, `proxy rejected ${SHORT_NAMES[type]} (NACK): ${message}`);
      });
    },
    proxyDisconnected: (proxy) => this.#end(proxy.uuid, (span) => failSpan(span, 'the proxy disconnected before answering')),
  };

  /** Pushes waiting for an answer (tests). */
  get pendingPushes(): number {
    return this.#pushes.size;
  }

  #describe(trace: PushTrace, proxy: Proxy): void {
    trace.span.setAttributes({
      'k8s.namespace.name': proxy.namespace,
      'k8s.pod.name': proxy.podName,
      'osm.proxy.identity': keyOf(proxy.identity),
      'osm.xds.types': [...trace.sent].map((t) => SHORT_NAMES[t]),
    });
  }

  #end(uuid: string, before?: (span: Span) => void): void {
    const trace = this.#pushes.get(uuid);
    if (!trace) return;
    this.#pushes.delete(uuid);
    trace.timer?.cancel();
    trace.span.setAttribute('osm.xds.responses', trace.sent.size);
    before?.(trace.span);
    trace.span.end(this.#clock.now());
  }
}

/** One set of ADS hooks calling each given set's in turn (those absent are skipped). */
export function mergeEvents(...sets: (AdsEvents | undefined)[]): AdsEvents {
  const present = sets.filter((s): s is AdsEvents => s !== undefined);
  if (present.length === 1) return present[0] as AdsEvents;
  const merged: Record<string, (...args: never[]) => void> = {};
  for (const key of new Set(present.flatMap((s) => Object.keys(s)))) {
    const hooks = present.flatMap((s) => (s[key as keyof AdsEvents] as ((...args: never[]) => void) | undefined) ?? []);
    merged[key] = hooks.length === 1 ? (hooks[0] as (...args: never[]) => void) : (...args: never[]) => {
      for (const hook of hooks) hook(...args);
    };
  }
  return merged as AdsEvents;
}
