// What the catalog could not apply, as data. The translator reports a problem for every object (or
// part of one) it drops or that grants nothing, and serves the rest; the controller turns each into a
// log line, a Warning Event on the object and a gauge. Problems depend on the objects alone, so every
// replica reports the same list.
import { compareStrings } from '@osm/mesh-model';

/** An object, or a part of one, that the catalog could not apply; the rest of the mesh is still served. */
export interface MeshProblem {
  readonly object: { readonly apiVersion: string; readonly kind: string; readonly namespace: string; readonly name: string; readonly uid?: string };
  /** The field at fault as a path, e.g. `spec.service` or `spec.matches[1].pathRegex`. */
  readonly field: string;
  /** CamelCase reason for the Event, e.g. `InvalidApex`. */
  readonly reason: string;
  /** What was wrong and what is allowed. */
  readonly message: string;
}

/** The SMI API versions the mesh reads (OSM's), for the problems' object references. */
export const SMI_API_VERSIONS = {
  TrafficTarget: 'access.smi-spec.io/v1alpha3',
  HTTPRouteGroup: 'specs.smi-spec.io/v1alpha4',
  TCPRoute: 'specs.smi-spec.io/v1alpha4',
  TrafficSplit: 'split.smi-spec.io/v1alpha2',
} as const;

export type SmiKind = keyof typeof SMI_API_VERSIONS;

/** Collects problems about one object. */
export class ProblemList {
  readonly #out: MeshProblem[] = [];

  /** A reporter for one object's problems. */
  about(kind: SmiKind, object: { readonly metadata: { readonly namespace?: string; readonly name: string; readonly uid?: string } }): (field: string, reason: string, message: string) => void {
    const ref = {
      apiVersion: SMI_API_VERSIONS[kind],
      kind,
      namespace: object.metadata.namespace ?? '',
      name: object.metadata.name,
      ...(object.metadata.uid ? { uid: object.metadata.uid } : {}),
    };
    return (field, reason, message) => this.#out.push({ object: ref, field, reason, message });
  }

  add(problems: readonly MeshProblem[]): void {
    this.#out.push(...problems);
  }

  /** The problems sorted by object (kind, namespace, name), field, reason and message, without duplicates. */
  sorted(): MeshProblem[] {
    const byKey = new Map<string, MeshProblem>();
    for (const p of this.#out) byKey.set(problemKey(p), p);
    return [...byKey.entries()].sort((a, b) => compareStrings(a[0], b[0])).map(([, p]) => p);
  }
}

const problemKey = (p: MeshProblem): string => [p.object.kind, p.object.namespace, p.object.name, p.field, p.reason, p.message].join('\u0000');
