import type { KubeObject } from './types.ts';

/** The store key: `namespace/name`, or `name` for cluster-scoped objects. */
export function objectKey(obj: KubeObject): string {
  const ns = obj.metadata.namespace;
  return ns ? `${ns}/${obj.metadata.name}` : obj.metadata.name;
}

function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
}

/**
 * Turns a decoded JSON object into what the store holds: `metadata.managedFields` removed (it is
 * large and nobody reads it) and every level frozen. Returns undefined for something that is not
 * an object with `metadata.name`.
 */
export function prepareObject<T extends KubeObject>(raw: unknown): T | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const meta = (raw as { metadata?: unknown }).metadata;
  if (typeof meta !== 'object' || meta === null) return undefined;
  if (typeof (meta as { name?: unknown }).name !== 'string') return undefined;
  let obj = raw as { metadata: Record<string, unknown> };
  if (Object.isFrozen(obj) || Object.isFrozen(obj.metadata)) {
    if (!('managedFields' in obj.metadata) && Object.isFrozen(obj)) return obj as unknown as T;
    obj = structuredClone(obj);
  }
  delete obj.metadata['managedFields'];
  deepFreeze(obj);
  return obj as unknown as T;
}
