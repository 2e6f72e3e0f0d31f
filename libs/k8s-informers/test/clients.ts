// A ListWatchClient for integration tests: passes calls through to the real client, records them,
// and can cut the open watches and hold new calls back.
import type { ListRequest, ListWatchClient, WatchCallbacks, WatchHandle, WatchRequest } from '../src/types.ts';

export class GatedClient implements ListWatchClient {
  readonly #inner: ListWatchClient;
  #gate: { promise: Promise<void>; open: () => void } | undefined;
  readonly #active = new Set<{ path: string; handle: WatchHandle; callbacks: WatchCallbacks }>();
  /** Every list request (each page), in order. */
  readonly lists: Array<{ path: string; request: ListRequest }> = [];
  /** The path of every watch request, in order. */
  readonly watches: string[] = [];

  constructor(inner: ListWatchClient) {
    this.#inner = inner;
  }

  /** Ends every open watch with an error and holds new list/watch calls until open(). */
  close(): void {
    let open = (): void => undefined;
    const promise = new Promise<void>((resolve) => (open = resolve));
    this.#gate = { promise, open };
    for (const w of [...this.#active]) {
      this.#active.delete(w);
      w.handle.abort();
      w.callbacks.onDone(new Error('connection cut by the test'));
    }
  }

  open(): void {
    this.#gate?.open();
    this.#gate = undefined;
  }

  /** Watches the server accepted that are still open. */
  get openWatches(): number {
    return this.#active.size;
  }

  /** Paths of the watches still open. */
  openWatchPaths(): string[] {
    return [...this.#active].map((w) => w.path);
  }

  /** Lists started (first pages only) of `path`. */
  listsOf(path: string): number {
    return this.lists.filter((l) => l.path === path && l.request.continueToken === undefined).length;
  }

  async list(path: string, request: ListRequest, signal: AbortSignal): ReturnType<ListWatchClient['list']> {
    this.lists.push({ path, request });
    await this.#gate?.promise;
    return this.#inner.list(path, request, signal);
  }

  async watch(path: string, request: WatchRequest, callbacks: WatchCallbacks): Promise<WatchHandle> {
    this.watches.push(path);
    await this.#gate?.promise;
    const entry = { path, handle: { abort: () => undefined } as WatchHandle, callbacks };
    const handle = await this.#inner.watch(path, request, {
      onEvent: (e) => callbacks.onEvent(e),
      onDone: (err) => {
        this.#active.delete(entry);
        callbacks.onDone(err);
      },
    });
    entry.handle = handle;
    this.#active.add(entry);
    return {
      abort: () => {
        this.#active.delete(entry);
        handle.abort();
      },
    };
  }
}
