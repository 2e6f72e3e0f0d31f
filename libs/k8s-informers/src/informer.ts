// A list+watch informer that survives what breaks naive ones: 410 Gone (relist, emit only real
// differences), any watch error (restart with jittered backoff), server-side closes, and silent
// stalls (no event or bookmark for a while: restart the watch). Handlers never throw into it.
// A namespace can be (re)listed on its own while the cluster-wide watch keeps running (`resync(ns)`).
import { systemClock, type Clock, type TimerHandle } from '@osm/clock';
import { errorFromStatus, InformerOptionError, isGone, KubeApiError } from './errors.ts';
import { objectKey, prepareObject } from './object.ts';
import { Store, type Indexers, type StoreReader } from './store.ts';
import type { InformerLogger, KubeObject, ListRequest, ListWatchClient, WatchEvent, WatchHandle } from './types.ts';

/** Callbacks for changes to an informer's store. Each runs after the store already holds the change. */
export interface ResourceEventHandler<T extends KubeObject> {
  onAdd?(obj: T): void;
  onUpdate?(obj: T, old: T): void;
  /** `obj` is the final state the informer knew (from the DELETED event, or the last one stored). */
  onDelete?(obj: T): void;
  /** After each complete list has been applied (the first one makes hasSynced() true). */
  onSync?(): void;
}

export interface BackoffOptions {
  /** First retry delay (default 200 ms). */
  readonly initialMs?: number;
  /** Largest retry delay (default 30 s). */
  readonly maxMs?: number;
}

export interface InformerOptions<T extends KubeObject> {
  /** For logs and stats, e.g. `pods`. */
  readonly name: string;
  /** The collection path: `/api/v1/pods`, `/apis/split.smi-spec.io/v1alpha2/trafficsplits`. */
  readonly path: string;
  readonly client: ListWatchClient;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** Objects for which this returns false are not kept (see `prune()` and `resync()` when it changes). */
  readonly keep?: (obj: T) => boolean;
  readonly indexers?: Indexers<T>;
  readonly logger?: InformerLogger;
  readonly clock?: Clock;
  /** Uniform in [0, 1); jitters the backoff and the watch timeout. */
  readonly random?: () => number;
  readonly backoff?: BackoffOptions;
  /**
   * No event or bookmark for this long restarts the watch (default 240 s). kube-apiserver sends a
   * bookmark to a quiet watch about 2 minutes after it starts, then every minute (measured, 1.37).
   */
  readonly stallTimeoutMs?: number;
  /** List page size (default 500). */
  readonly pageSize?: number;
  /** Watches end server-side after a random time in [min, 2*min] seconds (default min 300). */
  readonly watchTimeoutSeconds?: number;
  /** After this many watch failures in a row, relist instead of rewatching (default 3). */
  readonly relistAfterWatchFailures?: number;
}

export interface InformerStats {
  /** Lists of the whole collection (the first one, and relists). */
  readonly lists: number;
  /** Lists of one namespace (`resync(namespace)`), which leave the watch running. */
  readonly namespaceLists: number;
  /** Namespaces asked for by `resync(namespace)` whose list has not been applied yet. */
  readonly namespacesPending: number;
  readonly watches: number;
  /** Relists after 410 Gone. */
  readonly gone: number;
  readonly stalls: number;
  readonly failures: number;
  readonly handlerErrors: number;
  readonly resourceVersion: string;
  readonly lastError: string | undefined;
  /** Clock time (ms) of the first list or watch failure since the last one that worked; undefined while they work. */
  readonly failingSince: number | undefined;
}

const ignore = (): void => undefined;

/** Namespace lists one informer runs at once: a burst of joins must not flood the API server. */
const namespaceListsInFlight = 4;

/**
 * `/api/v1/pods` -> `/api/v1/namespaces/<ns>/pods`, `/apis/<group>/<version>/<plural>` likewise;
 * undefined for a path that is not a cluster-wide collection (or is the namespaces collection).
 */
function namespacedPath(path: string): ((namespace: string) => string) | undefined {
  const m = /^(\/api\/v1|\/apis\/[^/]+\/[^/]+)\/([^/]+)$/.exec(path);
  const [, prefix, plural] = m ?? [];
  if (prefix === undefined || plural === undefined || plural === 'namespaces') return undefined;
  return (namespace) => `${prefix}/namespaces/${encodeURIComponent(namespace)}/${plural}`;
}

/**
 * One namespace being listed on its own (see `resync(namespace)`). While `queued` (waiting for a
 * list slot or a retry) watch events for the namespace are dropped: the list, taken later, covers
 * them. When the list starts, the watch has delivered everything up to resourceVersion R; the list
 * asks for a state not older than R (the API server's watch cache can answer it, and it cannot be
 * compacted away), and the watch's events for the namespace from then on, all after R, wait in
 * `events`. The list may already contain some of them; replaying them in order onto it is still
 * exact: an object with an event after R ends as its last event says (the newest state there is),
 * one without had no change since R, so the list holds it as it is now. No resourceVersions are
 * compared (Kubernetes declares them opaque).
 */
interface NamespaceJoin<T> {
  readonly path: string;
  state: 'queued' | 'listing';
  events: Array<{ readonly type: 'ADDED' | 'MODIFIED' | 'DELETED'; readonly obj: T }>;
  abort: AbortController | undefined;
  retry: TimerHandle | undefined;
  failures: number;
}

function checkOptions(o: InformerOptions<KubeObject>): void {
  const bad = (field: string, allowed: string, value: unknown): never => {
    throw new InformerOptionError(`informer '${o.name}': option ${field} must be ${allowed}; got ${JSON.stringify(value)}`);
  };
  const positive = (field: string, v: number | undefined, integer = false): void => {
    if (v !== undefined && (!Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v)))) bad(field, integer ? 'a positive integer' : 'a positive number', v);
  };
  if (typeof o.name !== 'string' || o.name === '') bad('name', 'a non-empty string', o.name);
  if (typeof o.path !== 'string' || !o.path.startsWith('/')) bad('path', "a collection path starting with '/'", o.path);
  positive('pageSize', o.pageSize, true);
  positive('stallTimeoutMs', o.stallTimeoutMs);
  positive('watchTimeoutSeconds', o.watchTimeoutSeconds, true);
  positive('relistAfterWatchFailures', o.relistAfterWatchFailures, true);
  positive('backoff.initialMs', o.backoff?.initialMs);
  positive('backoff.maxMs', o.backoff?.maxMs);
  if ((o.backoff?.maxMs ?? 30_000) < (o.backoff?.initialMs ?? 200)) bad('backoff.maxMs', 'at least backoff.initialMs', o.backoff?.maxMs);
}
const noopLogger: InformerLogger = { debug: ignore, info: ignore, warn: ignore, error: ignore };

export class Informer<T extends KubeObject> implements StoreReader<T> {
  readonly name: string;
  readonly #opts: InformerOptions<T>;
  readonly #store: Store<T>;
  readonly #handlers = new Set<ResourceEventHandler<T>>();
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #log: InformerLogger;
  readonly #stallMs: number;
  readonly #syncWaiters: Array<() => void> = [];

  #running = false;
  #synced = false;
  /** Bumped on every restart; callbacks of an older list or watch see a different value and stay silent. */
  #epoch = 0;
  #needList = true;
  #resourceVersion = '';
  #attempt = 0;
  #watchFailures = 0;
  #failingSince: number | undefined;
  #watch: WatchHandle | undefined;
  #listAbort: AbortController | undefined;
  #retryTimer: TimerHandle | undefined;
  #stallTimer: TimerHandle | undefined;
  #lastActivity = 0;
  readonly #namespacedPath: ((namespace: string) => string) | undefined;
  readonly #joins = new Map<string, NamespaceJoin<T>>();
  /** Namespaces of `#joins` waiting for a list slot, in the order they were asked for. */
  #joinQueue: string[] = [];
  #joinsListing = 0;
  #stats = { lists: 0, namespaceLists: 0, watches: 0, gone: 0, stalls: 0, failures: 0, handlerErrors: 0, lastError: undefined as string | undefined };

  constructor(options: InformerOptions<T>) {
    checkOptions(options as InformerOptions<KubeObject>);
    this.name = options.name;
    this.#opts = options;
    this.#store = new Store<T>(options.indexers ?? {});
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#log = options.logger ?? noopLogger;
    this.#stallMs = options.stallTimeoutMs ?? 240_000;
    this.#namespacedPath = namespacedPath(options.path);
  }

  // ---- reading -------------------------------------------------------------------------------

  get size(): number {
    return this.#store.size;
  }
  get(key: string): T | undefined {
    return this.#store.get(key);
  }
  getByName(namespace: string | undefined, name: string): T | undefined {
    return this.#store.get(namespace ? `${namespace}/${name}` : name);
  }
  list(): T[] {
    return this.#store.list();
  }
  keys(): string[] {
    return this.#store.keys();
  }
  byIndex(indexName: string, value: string): T[] {
    return this.#store.byIndex(indexName, value);
  }
  hasSynced(): boolean {
    return this.#synced;
  }
  stats(): InformerStats {
    return { ...this.#stats, namespacesPending: this.#joins.size, resourceVersion: this.#resourceVersion, failingSince: this.#failingSince };
  }

  /** Resolves once the first list has been applied (or rejects when `signal` aborts first). */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        const i = this.#syncWaiters.indexOf(done);
        if (i >= 0) this.#syncWaiters.splice(i, 1);
        reject(signal?.reason instanceof Error ? signal.reason : new Error(`informer ${this.name}: wait for sync aborted`));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#syncWaiters.push(done);
    });
  }

  /**
   * Adds a handler; returns a function that removes it. A handler added after the first sync is
   * told about every object already stored (onAdd each, then onSync), as if it had been there.
   */
  addHandler(handler: ResourceEventHandler<T>): () => void {
    this.#handlers.add(handler);
    if (this.#synced) {
      for (const obj of this.#store.list()) this.#call(handler, 'onAdd', obj);
      this.#call(handler, 'onSync');
    }
    return () => this.#handlers.delete(handler);
  }

  // ---- lifecycle -----------------------------------------------------------------------------

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#restart(0, 'start');
  }

  stop(): void {
    this.#running = false;
    this.#cancel();
    this.#cancelJoins();
  }

  /**
   * Relist now (from a fresh list, emitting only differences), e.g. because `keep` now accepts more.
   *
   * With a namespace (`keep` now accepts its objects: it joined), lists only that namespace and
   * applies its differences at once (handlers never see part of it); the watch keeps running and
   * other namespaces are not listed again.
   * Namespace lists run a few at a time, each retried with jittered backoff. A relist of the whole
   * collection (after a 410 on the watch, say) supersedes them. An informer whose path is not a
   * cluster-wide collection of a namespaced kind relists the whole collection instead. Before the
   * first list, or while a relist is pending, there is nothing to do: that list covers the namespace.
   */
  resync(namespace?: string): void {
    if (namespace === undefined || !this.#namespacedPath) {
      this.#needList = true;
      if (this.#running) this.#restart(0, 'resync');
      return;
    }
    if (!this.#running || this.#needList || this.#joins.has(namespace)) return;
    this.#joins.set(namespace, { path: this.#namespacedPath(namespace), state: 'queued', events: [], abort: undefined, retry: undefined, failures: 0 });
    this.#joinQueue.push(namespace);
    this.#pumpJoins();
  }

  /**
   * Drops stored objects that `keep` now rejects, emitting onDelete for each. No API call. With a
   * namespace (it left), looks only at that namespace's objects.
   */
  prune(namespace?: string): void {
    const keep = this.#opts.keep;
    if (!keep) return;
    for (const key of namespace === undefined ? this.#store.keys() : this.#store.keysInNamespace(namespace)) {
      const obj = this.#store.get(key);
      if (obj && !this.#keeps(keep, obj)) {
        this.#store.delete(key);
        this.#emit('onDelete', obj);
      }
    }
  }

  // ---- the list/watch loop -------------------------------------------------------------------

  #cancel(): void {
    this.#epoch++;
    this.#retryTimer?.cancel();
    this.#stallTimer?.cancel();
    this.#retryTimer = this.#stallTimer = undefined;
    this.#listAbort?.abort();
    this.#listAbort = undefined;
    const watch = this.#watch;
    this.#watch = undefined;
    if (watch) {
      try {
        watch.abort();
      } catch (err) {
        this.#log.debug({ informer: this.name, err }, 'abort of a watch failed');
      }
    }
  }

  #restart(delayMs: number, reason: string): void {
    this.#cancel();
    // A relist covers every namespace; a rewatch (from the last resourceVersion) leaves joins be.
    if (this.#needList) this.#cancelJoins();
    if (!this.#running) return;
    const epoch = this.#epoch;
    this.#log.debug({ informer: this.name, reason, delayMs, relist: this.#needList }, 'informer (re)starting');
    const run = (): void => {
      this.#retryTimer = undefined;
      void this.#cycle(epoch);
    };
    if (delayMs <= 0) queueMicrotask(run);
    else this.#retryTimer = this.#clock.setTimer(run, delayMs);
  }

  #backoffMs(attempt: number): number {
    const initial = this.#opts.backoff?.initialMs ?? 200;
    const max = this.#opts.backoff?.maxMs ?? 30_000;
    const base = Math.min(max, initial * 2 ** Math.min(attempt, 30));
    // Jitter in [base/2, base): spreads replicas that lost the API server at the same moment.
    return base / 2 + (base / 2) * this.#random();
  }

  #recordFailure(err: unknown): string {
    this.#stats.failures++;
    return (this.#stats.lastError = err instanceof Error ? err.message : String(err));
  }

  #fail(err: unknown, during: 'list' | 'watch'): void {
    const gone = isGone(err);
    this.#recordFailure(err);
    this.#failingSince ??= this.#clock.now();
    if (gone) {
      this.#stats.gone++;
      this.#needList = true;
    } else if (during === 'watch' && ++this.#watchFailures >= (this.#opts.relistAfterWatchFailures ?? 3)) {
      this.#needList = true;
    }
    // The first 410 relists at once (it is routine); everything else backs off.
    const delay = gone && this.#attempt === 0 ? 0 : this.#backoffMs(this.#attempt);
    this.#attempt++;
    this.#log.warn({ informer: this.name, during, err: this.#stats.lastError, gone, retryInMs: Math.round(delay) }, 'informer list/watch failed; retrying');
    this.#restart(delay, gone ? 'gone' : 'error');
  }

  async #cycle(epoch: number): Promise<void> {
    if (!this.#running || epoch !== this.#epoch) return;
    let during: 'list' | 'watch' = 'list';
    try {
      if (this.#needList) {
        const abort = new AbortController();
        this.#listAbort = abort;
        this.#stats.lists++;
        const list = await this.#listAll(this.#opts.path, {}, abort.signal, () => epoch === this.#epoch);
        if (!list || epoch !== this.#epoch) return;
        this.#apply(this.#kept(list.items));
        this.#resourceVersion = list.resourceVersion;
        this.#needList = false;
        this.#attempt = 0;
        this.#watchFailures = 0;
        this.#failingSince = undefined;
        this.#markSynced();
        if (epoch !== this.#epoch) return; // a handler restarted us
      }
      during = 'watch';
      await this.#startWatch(epoch);
    } catch (err) {
      if (epoch !== this.#epoch || !this.#running) return;
      this.#fail(err, during);
    }
  }

  /**
   * Reads every page of `path`; `first` goes on the first request only (later pages carry it in
   * their continue token). Undefined once `current()` turns false.
   */
  async #listAll(
    path: string,
    first: Pick<ListRequest, 'resourceVersion' | 'resourceVersionMatch'>,
    signal: AbortSignal,
    current: () => boolean,
  ): Promise<{ items: T[]; resourceVersion: string } | undefined> {
    const items: T[] = [];
    let continueToken: string | undefined;
    let resourceVersion = '';
    do {
      const page = await this.#opts.client.list(
        path,
        {
          ...(this.#opts.labelSelector === undefined ? {} : { labelSelector: this.#opts.labelSelector }),
          ...(this.#opts.fieldSelector === undefined ? {} : { fieldSelector: this.#opts.fieldSelector }),
          limit: this.#opts.pageSize ?? 500,
          ...(continueToken === undefined ? first : { continueToken }),
        },
        signal,
      );
      if (!current()) return undefined;
      for (const raw of page.items) {
        const obj = prepareObject<T>(raw);
        if (obj) items.push(obj);
        else this.#log.warn({ informer: this.name }, 'list returned an item without metadata.name; ignored');
      }
      resourceVersion = page.resourceVersion;
      continueToken = page.continueToken || undefined;
    } while (continueToken !== undefined);
    if (!resourceVersion) throw new KubeApiError('Decode', `list of ${path} carried no metadata.resourceVersion`);
    return { items, resourceVersion };
  }

  async #startWatch(epoch: number): Promise<void> {
    const min = this.#opts.watchTimeoutSeconds ?? 300;
    const startedAt = this.#clock.now();
    let events = 0;
    this.#stats.watches++;
    const handle = await this.#opts.client.watch(
      this.#opts.path,
      {
        resourceVersion: this.#resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: Math.floor(min + min * this.#random()),
        ...(this.#opts.labelSelector === undefined ? {} : { labelSelector: this.#opts.labelSelector }),
        ...(this.#opts.fieldSelector === undefined ? {} : { fieldSelector: this.#opts.fieldSelector }),
      },
      {
        onEvent: (event) => {
          if (epoch !== this.#epoch) return;
          events++;
          this.#onWatchEvent(event);
        },
        onDone: (error) => {
          if (epoch !== this.#epoch || !this.#running) return;
          this.#watch = undefined;
          if (error) return this.#fail(error, 'watch');
          // A clean close (the server's timeout): carry on from where we are. A watch that closed
          // at once with nothing to say is treated as a failure, so it cannot spin.
          if (events > 0 || this.#clock.now() - startedAt >= 1000) {
            this.#attempt = 0;
            this.#restart(0, 'watch closed');
          } else {
            this.#fail(new KubeApiError('Network', 'watch closed immediately without events'), 'watch');
          }
        },
      },
    );
    if (epoch !== this.#epoch) {
      handle.abort();
      return;
    }
    this.#watch = handle;
    // The API server answered the watch: it is reachable again.
    this.#failingSince = undefined;
    this.#lastActivity = this.#clock.now();
    this.#armStallTimer(epoch, this.#stallMs);
  }

  #armStallTimer(epoch: number, ms: number): void {
    this.#stallTimer = this.#clock.setTimer(() => {
      this.#stallTimer = undefined;
      if (epoch !== this.#epoch) return;
      const idle = this.#clock.now() - this.#lastActivity;
      if (idle < this.#stallMs) return this.#armStallTimer(epoch, this.#stallMs - idle);
      this.#stats.stalls++;
      this.#log.warn({ informer: this.name, idleMs: idle }, 'watch stalled (no event or bookmark); restarting it');
      this.#restart(0, 'stall');
    }, ms);
  }

  #onWatchEvent(event: WatchEvent): void {
    this.#lastActivity = this.#clock.now();
    if (event.type === 'ERROR') {
      const err = errorFromStatus(event.object);
      this.#fail(err, 'watch');
      return;
    }
    if (event.type === 'BOOKMARK') {
      const rv = (event.object as { metadata?: { resourceVersion?: unknown } } | null)?.metadata?.resourceVersion;
      if (typeof rv === 'string' && rv) this.#resourceVersion = rv;
      this.#watchFailures = 0;
      return;
    }
    const obj = prepareObject<T>(event.object);
    if (!obj) {
      this.#log.warn({ informer: this.name, type: event.type }, 'watch event without an object with metadata.name; ignored');
      return;
    }
    this.#watchFailures = 0;
    if (obj.metadata.resourceVersion) this.#resourceVersion = obj.metadata.resourceVersion;
    if (event.type !== 'ADDED' && event.type !== 'MODIFIED' && event.type !== 'DELETED') {
      this.#log.warn({ informer: this.name, type: event.type }, 'unknown watch event type; ignored');
      return;
    }
    const join = obj.metadata.namespace === undefined ? undefined : this.#joins.get(obj.metadata.namespace);
    if (join) {
      if (join.state === 'listing') join.events.push({ type: event.type, obj });
      return;
    }
    const key = objectKey(obj);
    if (event.type === 'DELETED') {
      if (this.#store.delete(key)) this.#emit('onDelete', obj);
      return;
    }
    if (this.#opts.keep && !this.#keeps(this.#opts.keep, obj)) {
      const old = this.#store.delete(key);
      if (old) this.#emit('onDelete', obj);
      return;
    }
    const old = this.#store.set(key, obj);
    if (!old) this.#emit('onAdd', obj);
    else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion || !obj.metadata.resourceVersion) this.#emit('onUpdate', obj, old);
  }

  // ---- namespace lists -----------------------------------------------------------------------

  #pumpJoins(): void {
    while (this.#joinsListing < namespaceListsInFlight) {
      const namespace = this.#joinQueue.shift();
      if (namespace === undefined) return;
      const join = this.#joins.get(namespace);
      if (join?.state === 'queued') void this.#listNamespace(namespace, join);
    }
  }

  async #listNamespace(namespace: string, join: NamespaceJoin<T>): Promise<void> {
    const current = (): boolean => this.#joins.get(namespace) === join;
    // From here on the watch's events for the namespace come after `resourceVersion`: kept aside.
    const resourceVersion = this.#resourceVersion;
    join.state = 'listing';
    join.events = [];
    join.abort = new AbortController();
    this.#joinsListing++;
    this.#stats.namespaceLists++;
    try {
      const list = await this.#listAll(join.path, { resourceVersion, resourceVersionMatch: 'NotOlderThan' }, join.abort.signal, current);
      if (!list || !current()) return;
      this.#joins.delete(namespace);
      const next = this.#kept(list.items);
      const keep = this.#opts.keep;
      for (const { type, obj } of join.events) {
        if (type === 'DELETED' || (keep && !this.#keeps(keep, obj))) next.delete(objectKey(obj));
        else next.set(objectKey(obj), obj);
      }
      this.#log.debug({ informer: this.name, namespace, resourceVersion, listed: list.items.length, events: join.events.length }, 'namespace listed');
      this.#apply(next, namespace);
    } catch (err) {
      // Any failure (a 410 can only be an expired continue token here) retries just this namespace.
      if (!current()) return;
      const message = this.#recordFailure(err);
      const delay = this.#backoffMs(join.failures++);
      this.#log.warn({ informer: this.name, namespace, err: message, retryInMs: Math.round(delay) }, 'namespace list failed; retrying');
      join.state = 'queued';
      join.events = [];
      join.abort = undefined;
      join.retry = this.#clock.setTimer(() => {
        join.retry = undefined;
        this.#joinQueue.push(namespace);
        this.#pumpJoins();
      }, delay);
    } finally {
      this.#joinsListing--;
      this.#pumpJoins();
    }
  }

  #cancelJoins(): void {
    for (const join of this.#joins.values()) {
      join.abort?.abort();
      join.retry?.cancel();
    }
    this.#joins.clear();
    this.#joinQueue = [];
  }

  // ---- applying lists ------------------------------------------------------------------------

  /** The listed objects that `keep` accepts, by key. */
  #kept(items: readonly T[]): Map<string, T> {
    const keep = this.#opts.keep;
    const next = new Map<string, T>();
    for (const obj of items) if (!keep || this.#keeps(keep, obj)) next.set(objectKey(obj), obj);
    return next;
  }

  /**
   * Makes the store hold exactly `next` (within `namespace`, when given): emits deletes for what is
   * gone, adds and updates for what is new or changed.
   */
  #apply(next: ReadonlyMap<string, T>, namespace?: string): void {
    for (const key of namespace === undefined ? this.#store.keys() : this.#store.keysInNamespace(namespace)) {
      if (!next.has(key)) {
        const old = this.#store.delete(key);
        if (old) this.#emit('onDelete', old);
      }
    }
    for (const [key, obj] of next) {
      const old = this.#store.get(key);
      if (old && old.metadata.uid && obj.metadata.uid && old.metadata.uid !== obj.metadata.uid) {
        // Deleted and created again under the same name while we were not watching: say both.
        this.#store.delete(key);
        this.#emit('onDelete', old);
        this.#store.set(key, obj);
        this.#emit('onAdd', obj);
      } else if (!old) {
        this.#store.set(key, obj);
        this.#emit('onAdd', obj);
      } else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion || !obj.metadata.resourceVersion) {
        this.#store.set(key, obj);
        this.#emit('onUpdate', obj, old);
      }
      // Same resourceVersion: the same object; keep the stored instance and say nothing.
    }
  }

  #markSynced(): void {
    const first = !this.#synced;
    this.#synced = true;
    if (first) for (const done of this.#syncWaiters.splice(0)) done();
    for (const h of [...this.#handlers]) this.#call(h, 'onSync');
  }

  #keeps(keep: (obj: T) => boolean, obj: T): boolean {
    try {
      return keep(obj);
    } catch (err) {
      this.#log.error({ informer: this.name, key: objectKey(obj), err }, 'keep() threw; object not kept');
      return false;
    }
  }

  #emit(kind: 'onAdd' | 'onDelete', obj: T): void;
  #emit(kind: 'onUpdate', obj: T, old: T): void;
  #emit(kind: 'onAdd' | 'onUpdate' | 'onDelete', obj: T, old?: T): void {
    for (const h of [...this.#handlers]) this.#call(h, kind, obj, old);
  }

  #call(h: ResourceEventHandler<T>, kind: keyof ResourceEventHandler<T>, obj?: T, old?: T): void {
    try {
      if (kind === 'onSync') h.onSync?.();
      else if (kind === 'onUpdate') h.onUpdate?.(obj as T, old as T);
      else h[kind]?.(obj as T);
    } catch (err) {
      this.#stats.handlerErrors++;
      this.#log.error({ informer: this.name, handler: kind, err }, 'informer handler threw; ignored');
    }
  }
}
