// Test double: an in-memory collection that speaks the ListWatchClient interface with Kubernetes
// semantics (resourceVersions, history, compaction -> 410).
import { KubeApiError } from '../src/errors.ts';
import type { ListPage, ListRequest, ListWatchClient, WatchCallbacks, WatchEvent, WatchHandle, WatchRequest } from '../src/types.ts';

export interface FakeObject {
  metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string>; managedFields?: unknown };
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
  listCalls: ListRequest[] = [];
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

  async list(_path: string, request: ListRequest): Promise<ListPage> {
    await Promise.resolve();
    this.listCalls.push(request);
    const fail = this.failLists.shift();
    if (fail) throw fail;
    const all = [...this.objects.values()].sort((a, b) => this.#key(a).localeCompare(this.#key(b)));
    const start = request.continueToken ? Number(request.continueToken) : 0;
    const end = request.limit ? start + request.limit : all.length;
    return {
      items: all.slice(start, end).map((o) => structuredClone(o)),
      resourceVersion: String(this.rv),
      ...(end < all.length ? { continueToken: String(end) } : {}),
    };
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
