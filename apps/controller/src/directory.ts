// The ProxyDirectory of the ADS server over the catalog: a proxy is a pod labelled osm-proxy-uuid in
// a monitored namespace. A stream may arrive before the informers have seen its pod (the pod was
// just created): it waits for a batch that has it, a bounded time.
import type { Clock } from '@osm/clock';
import type { CatalogBatch } from '@osm/mesh-catalog';
import type { MeshModel, Proxy } from '@osm/mesh-model';
import type { ProxyDirectory } from '@osm/xds-server';

export class CatalogProxyDirectory implements ProxyDirectory {
  readonly #waitMs: number;
  readonly #clock: Clock;
  readonly #waiters = new Map<string, Set<(proxy: Proxy | undefined) => void>>();
  #model: MeshModel | undefined;

  constructor(waitMs: number, clock: Clock) {
    this.#waitMs = waitMs;
    this.#clock = clock;
  }

  onBatch(batch: CatalogBatch): void {
    this.#model = batch.model;
    for (const [uuid, waiters] of this.#waiters) {
      const proxy = batch.model.proxies.get(uuid);
      if (proxy) for (const resolve of [...waiters]) resolve(proxy);
    }
  }

  find(uuid: string, signal: AbortSignal): Promise<Proxy | undefined> {
    const known = this.#model?.proxies.get(uuid);
    if (known || signal.aborted) return Promise.resolve(known);
    return new Promise((resolve) => {
      let waiters = this.#waiters.get(uuid);
      if (!waiters) {
        waiters = new Set();
        this.#waiters.set(uuid, waiters);
      }
      const set = waiters;
      const done = (proxy: Proxy | undefined): void => {
        timer.cancel();
        signal.removeEventListener('abort', aborted);
        set.delete(done);
        if (set.size === 0 && this.#waiters.get(uuid) === set) this.#waiters.delete(uuid);
        resolve(proxy);
      };
      const aborted = (): void => done(undefined);
      const timer = this.#clock.setTimer(() => done(undefined), this.#waitMs);
      signal.addEventListener('abort', aborted);
      set.add(done);
    });
  }

  /** Streams waiting for their pod (the gauge osm_proxies_waiting_for_pod). */
  get waiting(): number {
    let n = 0;
    for (const set of this.#waiters.values()) n += set.size;
    return n;
  }
}
