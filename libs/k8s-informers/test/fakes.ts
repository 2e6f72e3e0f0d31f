// Test double: an in-memory collection that speaks the ListWatchClient interface with Kubernetes
// semantics (resourceVersions, history, compaction -> 410, lists of one namespace, continue tokens
// that keep the first page's resourceVersion).
import { FakeClock } from '@osm/testing';
import { KubeApiError } from '../src/errors.ts';
import { Informer, type InformerOptions } from '../src/informer.ts';
import { byNamespace } from '../src/store.ts';
import type { KubeObject, ListPage, ListRequest, ListWatchClient, WatchCallbacks, WatchEvent, WatchHandle, WatchRequest } from '../src/types.ts';

export interface FakeObject {
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string; labels?: Record<string, string>; managedFields?: unknown };
  [field: string]: unknown;
}

interface Watcher {
  callbacks: WatchCallbacks;
  request: WatchRequest;
  open: boolean;
}

/** One collection with Kubernetes semantics. */
export class FakeApi implements ListWatchClient {
  rv = 100;
  compactedRv = 0;
  readonly objects = new Map<string, FakeObject>();
  readonly history: Array<{ rv: number; event: WatchEvent }> = [];
  readonly watchers: Watcher[] = [];
  listCalls: Array<ListRequest & { path: string }> = [];
  /** While set, list responses wait for it (their page already taken). */
  listGate: Promise<void> | undefined;
  /** Lists waiting on the gate right now. */
  listsWaiting = 0;
  watchCalls: WatchRequest[] = [];
  /** Errors thrown by the next list/watch calls, in order. */
  failLists: Error[] = [];
  failWatches: Error[] = [];
  /** 'status' rejects the watch with HTTP 410; 'event' accepts it and sends an ERROR event. */
  goneAs: 'status' | 'event' = 'status';

  #key(o: FakeObject): string {
    return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;
  }

  #record(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: FakeObject): void {
    const event: WatchEvent = { type, object: structuredClone(obj) };
    this.history.push({ rv: this.rv, event });
    for (const w of this.watchers) if (w.open) w.callbacks.onEvent({ type, object: structuredClone(obj) });
  }

  put(obj: FakeObject): FakeObject {
    const key = this.#key(obj);
    const existed = this.objects.has(key);
    const stored = structuredClone(obj);
    stored.metadata.resourceVersion = String(++this.rv);
    stored.metadata.managedFields = [{ manager: 'test' }];
    this.objects.set(key, stored);
    this.#record(existed ? 'MODIFIED' : 'ADDED', stored);
    return stored;
  }

  remove(namespace: string | undefined, name: string): void {
    const key = namespace ? `${namespace}/${name}` : name;
    const old = this.objects.get(key);
    if (!old) throw new Error(`no ${key}`);
    this.objects.delete(key);
    const gone = structuredClone(old);
    gone.metadata.resourceVersion = String(++this.rv);
    this.#record('DELETED', gone);
  }

  compact(): void {
    this.compactedRv = this.rv;
  }

  bookmark(): void {
    for (const w of this.watchers) if (w.open) w.callbacks.onEvent({ type: 'BOOKMARK', object: { metadata: { resourceVersion: String(this.rv) } } });
  }

  /** Ends every open watch, with an error or cleanly. */
  breakWatches(error?: Error): void {
    for (const w of this.watchers.splice(0)) {
      if (!w.open) continue;
      w.open = false;
      w.callbacks.onDone(error);
    }
  }

  openWatches(): number {
    return this.watchers.filter((w) => w.open).length;
  }

  /** The objects as they were at `rv`, replayed from the history. */
  stateAt(rv: number): Map<string, FakeObject> {
    const state = new Map<string, FakeObject>();
    for (const h of this.history) {
      if (h.rv > rv) break;
      const o = h.event.object as FakeObject;
      if (h.event.type === 'DELETED') state.delete(this.#key(o));
      else state.set(this.#key(o), o);
    }
    return state;
  }

  async list(path: string, request: ListRequest): Promise<ListPage> {
    await Promise.resolve();
    this.listCalls.push({ ...request, path });
    const fail = this.failLists.shift();
    if (fail) throw fail;
    if (request.continueToken && request.resourceVersion) throw new Error('resourceVersion together with continue');
    if (request.resourceVersionMatch === 'NotOlderThan' && Number(request.resourceVersion) > this.rv) {
      throw new KubeApiError('Status', 'Too large resource version', { statusCode: 504 });
    }
    // Like the API server, a continue token carries the resourceVersion of the first page.
    const [tokenRv, tokenIndex] = request.continueToken ? request.continueToken.split(':').map(Number) : [undefined, 0];
    const rv = tokenRv ?? this.rv;
    if (rv < this.compactedRv) throw new KubeApiError('Gone', 'The provided continue parameter is too old.', { statusCode: 410 });
    const namespace = /\/namespaces\/([^/]+)\//.exec(path)?.[1];
    const all = [...this.stateAt(rv).values()].filter((o) => namespace === undefined || o.metadata.namespace === namespace).sort((a, b) => this.#key(a).localeCompare(this.#key(b)));
    const start = tokenIndex ?? 0;
    const end = request.limit ? start + request.limit : all.length;
    const page: ListPage = {
      items: all.slice(start, end).map((o) => structuredClone(o)),
      resourceVersion: String(rv),
      ...(end < all.length ? { continueToken: `${rv}:${end}` } : {}),
    };
    // The page is taken; its response may be held back while the collection moves on.
    if (this.listGate) {
      this.listsWaiting++;
      await this.listGate;
      this.listsWaiting--;
    }
    return page;
  }

  async watch(_path: string, request: WatchRequest, callbacks: WatchCallbacks): Promise<WatchHandle> {
    await Promise.resolve();
    this.watchCalls.push(request);
    const fail = this.failWatches.shift();
    if (fail) throw fail;
    const from = Number(request.resourceVersion);
    const watcher: Watcher = { callbacks, request, open: true };
    if (from < this.compactedRv) {
      if (this.goneAs === 'status') throw new KubeApiError('Gone', 'too old resource version', { statusCode: 410 });
      this.watchers.push(watcher);
      queueMicrotask(() => callbacks.onEvent({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' } }));
      return { abort: () => (watcher.open = false) };
    }
    this.watchers.push(watcher);
    const replay = this.history.filter((h) => h.rv > from).map((h) => h.event);
    queueMicrotask(() => {
      for (const e of replay) if (watcher.open) callbacks.onEvent({ type: e.type, object: structuredClone(e.object) });
    });
    return { abort: () => (watcher.open = false) };
  }
}

export function obj(namespace: string | undefined, name: string, extra: Record<string, unknown> = {}): FakeObject {
  return { metadata: { name, ...(namespace ? { namespace } : {}) }, ...extra };
}

/**
 * An informer over a FakeApi with a FakeClock (random fixed at 0.5), indexes by namespace and by
 * the `color` label, and the events its handler heard as strings.
 */
export function setup(options: Partial<InformerOptions<KubeObject>> = {}) {
  const api = new FakeApi();
  const clock = new FakeClock(1_000_000);
  const events: string[] = [];
  const informer = new Informer<KubeObject>({
    name: 'things',
    path: '/api/v1/things',
    client: api,
    clock,
    random: () => 0.5,
    stallTimeoutMs: 60_000,
    backoff: { initialMs: 1000, maxMs: 8000 },
    indexers: { namespace: byNamespace, color: (o) => (o.metadata.labels?.['color'] ? [o.metadata.labels['color']] : []) },
    ...options,
  });
  informer.addHandler({
    onAdd: (o) => events.push(`add ${o.metadata.namespace}/${o.metadata.name}`),
    onUpdate: (o, old) => events.push(`update ${o.metadata.namespace}/${o.metadata.name} ${old.metadata.resourceVersion}->${o.metadata.resourceVersion}`),
    onDelete: (o) => events.push(`delete ${o.metadata.namespace}/${o.metadata.name}`),
    onSync: () => events.push('sync'),
  });
  return { api, clock, events, informer };
}
