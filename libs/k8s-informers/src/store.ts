import type { KubeObject } from './types.ts';

/** Index functions by name: each returns the index values an object is filed under. */
export type Indexers<T> = Readonly<Record<string, (obj: T) => readonly string[]>>;

/** Read access to an informer's objects. */
export interface StoreReader<T extends KubeObject> {
  get(key: string): T | undefined;
  list(): T[];
  keys(): string[];
  readonly size: number;
  /** Objects filed under `value` in the named index; throws for an index that was not declared. */
  byIndex(indexName: string, value: string): T[];
}

// An index function that throws files the object under nothing rather than breaking the store.
function indexValues<T>(fn: (obj: T) => readonly string[], obj: T): readonly string[] {
  try {
    return fn(obj);
  } catch {
    return [];
  }
}

function fileUnder(index: Map<string, Set<string>>, value: string, key: string): void {
  let keys = index.get(value);
  if (!keys) index.set(value, (keys = new Set()));
  keys.add(key);
}

function unfile(index: Map<string, Set<string>>, value: string, key: string): void {
  const keys = index.get(value);
  if (!keys) return;
  keys.delete(key);
  if (keys.size === 0) index.delete(value);
}

/** Objects by `namespace/name`, with named secondary indexes kept in step. */
export class Store<T extends KubeObject> implements StoreReader<T> {
  readonly #objects = new Map<string, T>();
  /** Keys by namespace, always kept: a namespace joining or leaving touches only its own objects. */
  readonly #namespaces = new Map<string, Set<string>>();
  readonly #indexers: Indexers<T>;
  readonly #indexes = new Map<string, Map<string, Set<string>>>();

  constructor(indexers: Indexers<T> = {}) {
    this.#indexers = indexers;
    for (const name of Object.keys(indexers)) this.#indexes.set(name, new Map());
  }

  get size(): number {
    return this.#objects.size;
  }

  get(key: string): T | undefined {
    return this.#objects.get(key);
  }

  has(key: string): boolean {
    return this.#objects.has(key);
  }

  list(): T[] {
    return [...this.#objects.values()];
  }

  keys(): string[] {
    return [...this.#objects.keys()];
  }

  entries(): IterableIterator<[string, T]> {
    return this.#objects.entries();
  }

  /** Keys of the objects in `namespace` (a copy). */
  keysInNamespace(namespace: string): string[] {
    return [...(this.#namespaces.get(namespace) ?? [])];
  }

  byIndex(indexName: string, value: string): T[] {
    const index = this.#indexes.get(indexName);
    if (!index) throw new Error(`unknown index '${indexName}': declared indexes are ${[...this.#indexes.keys()].join(', ') || '(none)'}`);
    const keys = index.get(value);
    if (!keys) return [];
    const out: T[] = [];
    for (const key of keys) {
      const obj = this.#objects.get(key);
      if (obj) out.push(obj);
    }
    return out;
  }

  /** Stores `obj` under `key`; returns the object it replaced. */
  set(key: string, obj: T): T | undefined {
    const old = this.#objects.get(key);
    if (old) this.#unindex(key, old);
    this.#objects.set(key, obj);
    this.#index(key, obj);
    return old;
  }

  delete(key: string): T | undefined {
    const old = this.#objects.get(key);
    if (!old) return undefined;
    this.#unindex(key, old);
    this.#objects.delete(key);
    return old;
  }

  #index(key: string, obj: T): void {
    if (obj.metadata.namespace) fileUnder(this.#namespaces, obj.metadata.namespace, key);
    for (const [name, fn] of Object.entries(this.#indexers)) {
      const index = this.#indexes.get(name);
      if (!index) continue;
      for (const value of indexValues(fn, obj)) fileUnder(index, value, key);
    }
  }

  #unindex(key: string, obj: T): void {
    if (obj.metadata.namespace) unfile(this.#namespaces, obj.metadata.namespace, key);
    for (const [name, fn] of Object.entries(this.#indexers)) {
      const index = this.#indexes.get(name);
      if (!index) continue;
      for (const value of indexValues(fn, obj)) unfile(index, value, key);
    }
  }
}

/** A common index: objects by namespace. */
export const byNamespace = <T extends KubeObject>(obj: T): readonly string[] => (obj.metadata.namespace ? [obj.metadata.namespace] : []);
