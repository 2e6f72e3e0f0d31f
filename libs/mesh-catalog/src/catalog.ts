// The catalog at run time: the source's changes, coalesced, become new models; each batch names the
// proxies it affects so the controller recomputes only those.
import { systemClock, type Clock } from '@osm/clock';
import type { InformerLogger } from '@osm/k8s-informers';
import type { MeshModel, ServiceIdentity } from '@osm/mesh-model';
import { diffModels, type ModelDiff } from './affected.ts';
import { Coalescer } from './coalescer.ts';
import { CatalogError } from './errors.ts';
import type { MeshProblem } from './problems.ts';
import type { KubeSource } from './source.ts';
import { serviceIdentities, Translator } from './translate.ts';

export interface MeshCatalogOptions {
  readonly source: KubeSource;
  /** A batch is built this long after the last change (default 100 ms)... */
  readonly windowMs?: number;
  /** ...but no later than this after the first (default 1000 ms). */
  readonly maxDelayMs?: number;
  /** The cluster's DNS domain (default `cluster.local`): service FQDNs in the model's settings. */
  readonly clusterDomain?: string;
  readonly clock?: Clock;
  readonly logger?: InformerLogger;
}

/** One published model and what changed since the previous one. */
export interface CatalogBatch {
  /** 1 for the first model after sync, then counting up. */
  readonly sequence: number;
  readonly model: MeshModel;
  readonly previous: MeshModel | undefined;
  /** Service accounts of monitored namespaces. */
  readonly identities: readonly ServiceIdentity[];
  /**
   * uuids of proxies whose configuration may have changed (every proxy in the first batch), sorted.
   * A uuid that is not in `model.proxies` belongs to a proxy that went away.
   */
  readonly affectedProxies: readonly string[];
  readonly allProxies: boolean;
  /** The details (undefined for the first batch). */
  readonly diff: ModelDiff | undefined;
  /** How many object changes this batch coalesced. */
  readonly changes: number;
  /** Objects (or parts) that could not be applied, sorted by object then field; the same on every replica. The full current list, not only new ones. */
  readonly problems: readonly MeshProblem[];
}

export type CatalogListener = (batch: CatalogBatch) => void;

function checkMs(field: string, value: number | undefined, fallback: number, min: number): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v < min) throw new CatalogError('InvalidOption', `MeshCatalog option ${field} must be a number of milliseconds >= ${min}; got ${String(value)}`);
  return v;
}

const ignore = (): void => undefined;
const noopLogger: InformerLogger = { debug: ignore, info: ignore, warn: ignore, error: ignore };

export class MeshCatalog {
  readonly #source: KubeSource;
  readonly #translator: Translator;
  readonly #log: InformerLogger;
  readonly #coalescer: Coalescer;
  readonly #listeners = new Set<CatalogListener>();
  #batch: CatalogBatch | undefined;
  #unsubscribe: (() => void) | undefined;
  #abort: AbortController | undefined;
  #synced = false;

  constructor(options: MeshCatalogOptions) {
    const windowMs = checkMs('windowMs', options.windowMs, 100, 0);
    const maxDelayMs = checkMs('maxDelayMs', options.maxDelayMs, 1000, windowMs);
    this.#source = options.source;
    this.#translator = new Translator(options.clusterDomain === undefined ? {} : { clusterDomain: options.clusterDomain });
    this.#log = options.logger ?? noopLogger;
    this.#coalescer = new Coalescer(options.clock ?? systemClock, windowMs, maxDelayMs, (changes) => this.#publish(changes));
  }

  /** The latest batch (undefined until the source has synced). */
  current(): CatalogBatch | undefined {
    return this.#batch;
  }

  model(): MeshModel | undefined {
    return this.#batch?.model;
  }

  /** Adds a listener; it hears the current batch at once if there is one. Listeners never throw into the catalog. */
  subscribe(listener: CatalogListener): () => void {
    this.#listeners.add(listener);
    if (this.#batch) this.#call(listener, this.#batch);
    return () => this.#listeners.delete(listener);
  }

  /** Subscribes to the source; the first batch comes once it has synced. Resolves then. */
  async start(signal?: AbortSignal): Promise<void> {
    if (this.#unsubscribe) return;
    this.#abort = new AbortController();
    this.#unsubscribe = this.#source.subscribe(() => {
      if (this.#synced) this.#coalescer.poke();
    });
    const abort = this.#abort;
    await this.#source.waitForSync(signal ? AbortSignal.any([signal, abort.signal]) : abort.signal);
    if (abort.signal.aborted) return;
    this.#synced = true;
    this.#coalescer.cancel();
    this.#publish(0);
  }

  stop(): void {
    this.#abort?.abort();
    this.#abort = undefined;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#coalescer.cancel();
    this.#synced = false;
  }

  /** Builds a batch now from what is pending (tests, shutdown). */
  flush(): void {
    this.#coalescer.flushNow();
  }

  #publish(changes: number): void {
    let model: MeshModel;
    let problems: readonly MeshProblem[];
    let identities: readonly ServiceIdentity[];
    try {
      const objects = this.#source.objects();
      ({ model, problems } = this.#translator.translate(objects));
      identities = serviceIdentities(objects);
    } catch (err) {
      // The translator does not throw on any input; if it ever does, keep the last model and say so.
      this.#log.error({ err }, 'mesh catalog: translation failed; keeping the previous model');
      return;
    }
    const previous = this.#batch?.model;
    const diff = previous ? diffModels(previous, model) : undefined;
    const batch: CatalogBatch = {
      sequence: (this.#batch?.sequence ?? 0) + 1,
      model,
      previous,
      identities,
      affectedProxies: diff ? diff.affectedProxies : [...model.proxies.keys()].sort(),
      allProxies: diff ? diff.allProxies : true,
      diff,
      changes,
      problems,
    };
    this.#batch = batch;
    this.#log.debug({ sequence: batch.sequence, changes, affected: batch.affectedProxies.length }, 'mesh catalog: new model');
    for (const l of [...this.#listeners]) this.#call(l, batch);
  }

  #call(listener: CatalogListener, batch: CatalogBatch): void {
    try {
      listener(batch);
    } catch (err) {
      this.#log.error({ err }, 'mesh catalog listener threw; ignored');
    }
  }
}
