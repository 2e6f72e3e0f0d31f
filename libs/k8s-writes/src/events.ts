// Kubernetes Events on the objects a component could not apply (a TrafficSplit with a bad apex, an
// HTTPRouteGroup match with a regex Envoy would reject, ...), so `kubectl describe` shows the reason
// next to the object. Like client-go's recorder: fire-and-forget (record never throws or blocks), the
// same event repeated within ten minutes bumps `count` on one Event instead of creating another, and
// writes go out one at a time so an event storm cannot flood the API server.
import { CoreV1Api, type CoreV1Event, type KubeConfig } from '@kubernetes/client-node';
import { systemClock, type Clock } from '@osm/clock';
import { statusCode } from './errors.ts';

/** The object an Event is about. */
export interface InvolvedObject {
  readonly apiVersion: string;
  readonly kind: string;
  /** Empty or absent for cluster-scoped objects (their Events go to `default`, as kubectl expects). */
  readonly namespace?: string;
  readonly name: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
}

export type EventType = 'Normal' | 'Warning';

/** Records Events; implementations never throw into the caller. */
export interface EventRecorder {
  record(object: InvolvedObject, type: EventType, reason: string, message: string): void;
}

export interface KubeEventRecorderOptions {
  readonly kubeConfig: KubeConfig;
  /** `source.component` and `reportingComponent` (e.g. `osm-controller`). */
  readonly component: string;
  /** `reportingInstance` and `source.host`: the pod name of this replica. */
  readonly instance?: string;
  readonly clock?: Pick<Clock, 'now'>;
  /** Where a failed write is reported (it is dropped after that). */
  readonly onError?: (err: unknown, event: { readonly object: InvolvedObject; readonly reason: string }) => void;
  /** How many distinct events are remembered for aggregation (default 4,096). */
  readonly maxTracked?: number;
  /** How many writes may wait; beyond that new events are dropped and counted (default 1,000). */
  readonly maxQueued?: number;
}

const AGGREGATE_WINDOW_MS = 10 * 60_000;
// Kubernetes limits an Event's message to 1 KiB in its validation of events.k8s.io; keep core/v1 the same.
const MAX_MESSAGE = 1024;

interface Tracked {
  readonly object: InvolvedObject;
  readonly type: EventType;
  readonly reason: string;
  readonly message: string;
  readonly namespace: string;
  name: string | undefined;
  count: number;
  written: number;
  first: number;
  last: number;
  queued: boolean;
}

export class KubeEventRecorder implements EventRecorder {
  readonly #core: CoreV1Api;
  readonly #options: KubeEventRecorderOptions;
  readonly #clock: Pick<Clock, 'now'>;
  readonly #tracked = new Map<string, Tracked>();
  readonly #queue: Tracked[] = [];
  #draining: Promise<void> | undefined;
  /** Events dropped because the queue was full. */
  dropped = 0;

  constructor(options: KubeEventRecorderOptions) {
    this.#options = options;
    this.#core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.#clock = options.clock ?? systemClock;
  }

  record(object: InvolvedObject, type: EventType, reason: string, message: string): void {
    const now = this.#clock.now();
    const text = message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 3)}...` : message;
    const namespace = object.namespace || 'default';
    const key = `${namespace}\n${object.kind}\n${object.name}\n${object.uid ?? ''}\n${type}\n${reason}\n${text}`;
    let t = this.#tracked.get(key);
    if (t && now - t.last > AGGREGATE_WINDOW_MS) t = undefined;
    if (t) {
      this.#tracked.delete(key); // re-inserted below: the map's order is least recently used first
      t.count++;
      t.last = now;
    } else {
      t = { object, type, reason, message: text, namespace, name: undefined, count: 1, written: 0, first: now, last: now, queued: false };
    }
    this.#tracked.set(key, t);
    const max = this.#options.maxTracked ?? 4096;
    while (this.#tracked.size > max) this.#tracked.delete(this.#tracked.keys().next().value as string);
    if (t.queued) return;
    if (this.#queue.length >= (this.#options.maxQueued ?? 1000)) {
      this.dropped++;
      return;
    }
    t.queued = true;
    this.#queue.push(t);
    this.#draining ??= this.#drain().finally(() => (this.#draining = undefined));
  }

  /** Resolves once every recorded event has been written (or has failed). */
  async flush(): Promise<void> {
    while (this.#draining) await this.#draining;
  }

  async #drain(): Promise<void> {
    for (let t = this.#queue.shift(); t; t = this.#queue.shift()) {
      t.queued = false;
      try {
        await this.#write(t);
      } catch (err) {
        this.#options.onError?.(err, { object: t.object, reason: t.reason });
      }
    }
  }

  async #write(t: Tracked): Promise<void> {
    const count = t.count;
    const last = new Date(t.last);
    if (t.name !== undefined) {
      try {
        await this.#core.patchNamespacedEvent({
          name: t.name,
          namespace: t.namespace,
          body: [
            { op: 'replace', path: '/count', value: count },
            { op: 'replace', path: '/lastTimestamp', value: last.toISOString() },
          ],
        });
        t.written = count;
        return;
      } catch (err) {
        if (statusCode(err) !== 404) throw err;
        // Deleted (Events expire after an hour by default): create a new one below.
      }
    }
    const component = this.#options.component;
    const instance = this.#options.instance ?? '';
    const { object } = t;
    for (let attempt = 0; ; attempt++) {
      // client-go's naming: <object>.<unix nanoseconds in hex>, unique enough across replicas; a clash retries.
      const name = `${object.name}.${(BigInt(t.last) * 1_000_000n + BigInt(attempt)).toString(16)}`;
      const body: CoreV1Event = {
        metadata: { name, namespace: t.namespace },
        involvedObject: {
          apiVersion: object.apiVersion,
          kind: object.kind,
          name: object.name,
          ...(object.namespace ? { namespace: object.namespace } : {}),
          ...(object.uid ? { uid: object.uid } : {}),
          ...(object.resourceVersion ? { resourceVersion: object.resourceVersion } : {}),
        },
        type: t.type,
        reason: t.reason,
        message: t.message,
        count,
        firstTimestamp: new Date(t.first),
        lastTimestamp: last,
        source: { component, ...(instance ? { host: instance } : {}) },
        reportingComponent: component,
        reportingInstance: instance,
      };
      try {
        await this.#core.createNamespacedEvent({ namespace: t.namespace, body });
        t.name = name;
        t.written = count;
        return;
      } catch (err) {
        if (statusCode(err) !== 409 || attempt >= 3) throw err;
      }
    }
  }
}
