// Test-only: applies RFC 6902 add/replace operations to a deep copy of a document, failing where the
// API server would (a missing parent, an index out of range, replace of a missing member).
const unescape = (s: string): string => s.replaceAll('~1', '/').replaceAll('~0', '~');

export function applyPatch<T>(document: T, operations: readonly { op: string; path: string; value: unknown }[]): T {
  const root = structuredClone(document) as unknown;
  for (const { op, path, value } of operations) {
    if (op !== 'add' && op !== 'replace') throw new Error(`unsupported op ${op}`);
    const parts = path.split('/').slice(1).map(unescape);
    const last = parts.pop();
    if (last === undefined) throw new Error(`${op} ${path}: the root cannot be patched here`);
    let parent = root as Record<string, unknown> | unknown[];
    for (const p of parts) {
      const next = Array.isArray(parent) ? parent[Number(p)] : parent[p];
      if (typeof next !== 'object' || next === null) throw new Error(`${op} ${path}: ${p} does not exist`);
      parent = next as Record<string, unknown> | unknown[];
    }
    if (Array.isArray(parent)) {
      const index = last === '-' ? parent.length : Number(last);
      if (!Number.isInteger(index) || index < 0 || index > parent.length || (op === 'replace' && index >= parent.length)) throw new Error(`${op} ${path}: index out of range`);
      if (op === 'add') parent.splice(index, 0, structuredClone(value));
      else parent[index] = structuredClone(value);
    } else {
      if (op === 'replace' && !(last in parent)) throw new Error(`replace ${path}: no such member`);
      parent[last] = structuredClone(value);
    }
  }
  return root as T;
}
