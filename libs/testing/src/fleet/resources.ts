// What a simulated proxy needs from a resource: its name, the names it makes the proxy subscribe to,
// and whether Envoy could decode it. Thousands of proxies receive identical bytes, so each distinct
// resource, and each distinct run of resources in a response, is decoded once per process.
import { hash } from 'node:crypto';
import { unpackAny } from '@osm/envoy-api';
import { referencesOf, type References } from '@osm/xds-snapshot';
import { forEachAny, readName } from './wire.ts';

export interface DecodedResource {
  /** The Any's type URL. */
  readonly typeUrl: string;
  readonly name: string;
  /** Names this resource refers to: EDS names of an EDS cluster, RDS names and SDS names of a listener, ... */
  readonly refs: References;
  /** Why Envoy would reject it (not decodable, unknown type). */
  readonly error?: string;
  /** The encoded resource, kept only when the fleet keeps resources. */
  readonly bytes?: Uint8Array;
}

/** The resources of one SotW response, decoded, with what is wrong with the response as a whole. */
export interface DecodedList {
  readonly resources: readonly DecodedResource[];
  readonly problem?: string;
}

/** A map that keeps what was used in the current or the previous generation: bounded, without bookkeeping. */
export class GenerationalMap<V> {
  readonly #limit: number;
  #current = new Map<string, V>();
  #previous = new Map<string, V>();

  constructor(limit: number) {
    this.#limit = limit;
  }

  get(key: string): V | undefined {
    const value = this.#current.get(key);
    if (value !== undefined) return value;
    const old = this.#previous.get(key);
    if (old !== undefined) this.set(key, old);
    return old;
  }

  set(key: string, value: V): void {
    if (this.#current.size >= this.#limit) {
      this.#previous = this.#current;
      this.#current = new Map();
    }
    this.#current.set(key, value);
  }
}

/** Interns name lists so that equal lists are one array: compared by identity, encoded and reported once. */
export class NameTable {
  readonly #lists = new GenerationalMap<readonly string[]>(20_000);
  static readonly EMPTY: readonly string[] = Object.freeze([]);

  /** The interned copy of `names` (sorted, unique). */
  intern(names: Iterable<string>): readonly string[] {
    const sorted = [...new Set(names)].sort();
    if (sorted.length === 0) return NameTable.EMPTY;
    const key = sorted.join('\n');
    const found = this.#lists.get(key);
    if (found) return found;
    Object.freeze(sorted);
    this.#lists.set(key, sorted);
    return sorted;
  }
}

const NO_REFS: References = { routes: [], clusters: [], endpoints: [], secrets: [] };
const digest = (data: Uint8Array | string): string => hash('sha1', data, 'base64');

export interface ResourceDecoderOptions {
  /** Keep each resource's bytes (for config dumps and external checkers). Default false. */
  readonly keepBytes?: boolean;
  /** Entries per generation of each cache. Default 50,000. */
  readonly cacheLimit?: number;
}

export class ResourceDecoder {
  readonly #keepBytes: boolean;
  readonly #resources: GenerationalMap<DecodedResource>;
  readonly #lists: GenerationalMap<DecodedList>;
  /** Resources decoded so far (cache misses): how much work the caches saved shows against the responses. */
  decoded = 0;

  constructor(options: ResourceDecoderOptions = {}) {
    this.#keepBytes = options.keepBytes ?? false;
    this.#resources = new GenerationalMap(options.cacheLimit ?? 50_000);
    this.#lists = new GenerationalMap(options.cacheLimit ?? 50_000);
  }

  /** One resource from its Any's type URL and value. */
  decode(typeUrl: string, value: Uint8Array): DecodedResource {
    return this.#resolve(`${typeUrl}\n${digest(value)}`, typeUrl, value);
  }

  #resolve(key: string, typeUrl: string, value: Uint8Array): DecodedResource {
    let resource = this.#resources.get(key);
    if (!resource) {
      resource = this.#decode(typeUrl, value);
      this.#resources.set(key, resource);
    }
    return resource;
  }

  /**
   * The resources of a SotW response of type `typeUrl` (their field encodings, as `parseSotwResponse`
   * returns them). Equal contents give the same list object, also in another order: go-control-plane
   * sends a type's resources in Go's random map order, a new order for every proxy.
   */
  list(typeUrl: string, resources: Uint8Array): DecodedList {
    const runKey = `${typeUrl}\n${digest(resources)}`;
    let list = this.#lists.get(runKey);
    if (!list) {
      const decoded: DecodedResource[] = [];
      const keys: string[] = [];
      forEachAny(resources, (anyType, value) => {
        const key = `${anyType}\n${digest(value)}`;
        keys.push(key);
        decoded.push(this.#resolve(key, anyType, value));
      });
      const contentKey = `${typeUrl}\n${digest(keys.sort().join('\n'))}`;
      list = this.#lists.get(contentKey);
      if (!list) {
        list = { resources: decoded, problem: problemOf(typeUrl, decoded) };
        this.#lists.set(contentKey, list);
      }
      this.#lists.set(runKey, list);
    }
    return list;
  }

  #decode(typeUrl: string, value: Uint8Array): DecodedResource {
    this.decoded++;
    const bytes = this.#keepBytes ? new Uint8Array(value) : undefined;
    try {
      // Envoy rejects what it cannot decode; the generated types decide, as they would for Envoy.
      if (unpackAny({ typeUrl, value }) === undefined) return { typeUrl, name: readName(value), refs: NO_REFS, error: `unknown resource type ${typeUrl}`, bytes };
      return { typeUrl, name: readName(value), refs: referencesOf(typeUrl, value), bytes };
    } catch (err) {
      return { typeUrl, name: '', refs: NO_REFS, error: `cannot decode ${typeUrl}: ${err instanceof Error ? err.message : String(err)}`, bytes };
    }
  }
}

/** What Envoy would reject a whole response for: an undecodable resource, a foreign type, a duplicate or missing name. */
export function problemOf(typeUrl: string, resources: readonly DecodedResource[]): string | undefined {
  const seen = new Set<string>();
  for (const r of resources) {
    if (r.error) return r.error;
    if (r.typeUrl !== typeUrl) return `resource type ${r.typeUrl} does not match response type ${typeUrl}`;
    if (r.name === '') return `a resource of type ${typeUrl} has no name`;
    if (seen.has(r.name)) return `duplicate resource name '${r.name}' in ${typeUrl}`;
    seen.add(r.name);
  }
  return undefined;
}
