// Like go-control-plane's Snapshot.Consistent(): every name a resource refers to must be present.
import { RESOURCE_TYPES } from './snapshot.ts';
import type { ResourceType, Snapshot } from './snapshot.ts';

/** A reference to a resource the snapshot lacks. */
export interface MissingReference {
  readonly type: ResourceType;
  readonly name: string;
  /** `<type>/<name>` of the resource that refers to it. */
  readonly referencedBy: string;
}

/** The result of the check, as data: consistent, or the missing names. */
export type ConsistencyResult = { readonly consistent: true } | { readonly consistent: false; readonly missing: readonly MissingReference[] };

/** Checks that every route configuration, cluster, endpoint assignment and secret referred to is present. */
export function checkConsistency(snapshot: Snapshot): ConsistencyResult {
  const missing: MissingReference[] = [];
  for (const type of RESOURCE_TYPES) {
    for (const r of snapshot.types[type].resources.values()) {
      for (const target of ['routes', 'clusters', 'endpoints', 'secrets'] as const) {
        for (const name of r.refs[target]) {
          if (!snapshot.types[target].resources.has(name)) missing.push({ type: target, name, referencedBy: `${type}/${r.name}` });
        }
      }
    }
  }
  return missing.length === 0 ? { consistent: true } : { consistent: false, missing };
}

/** A one-line description of the missing references, for logs and errors. */
export function describeMissing(result: ConsistencyResult): string {
  if (result.consistent) return 'consistent';
  return result.missing.map((m) => `${m.type}/${m.name} (referenced by ${m.referencedBy})`).join(', ');
}
