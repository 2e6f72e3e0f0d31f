// JSON data written as block YAML, for the bootstrap files: every string double-quoted (JSON's escapes
// are YAML's), keys left plain only when no YAML parser (1.1 or 1.2) could read them as anything but a
// string, no anchors. The `yaml` package's stringify built a document tree first and cost about 1.7 ms
// per admission, the largest part of the injector's own CPU in B5's profile; this is a walk of the data.

// Plain keys: identifiers that are not YAML 1.1 booleans or null (Go's yaml.v2 reads `on: x` as true: x),
// nor a bare exponent such as `e0` (the JS `yaml` package's 1.1 schema reads that as a float).
const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const NOT_PLAIN = /^(y|n|yes|no|true|false|on|off|null|e\d+)$/i;

const key = (k: string): string => (PLAIN_KEY.test(k) && !NOT_PLAIN.test(k) ? k : JSON.stringify(k));

type Entries = [string, unknown][];

/** The entries to write of an object or array, or undefined for a scalar. Like JSON, undefined fields are left out. */
function entriesOf(value: unknown): Entries | unknown[] | undefined {
  if (Array.isArray(value)) return value;
  if (typeof value === 'object' && value !== null) return Object.entries(value).filter(([, v]) => v !== undefined);
  return undefined;
}

/** A scalar, an empty object `{}` or an empty array `[]` on one line (as JSON, which YAML reads the same). */
const inline = (value: unknown): string => JSON.stringify(value ?? null);

function block(value: unknown, indent: string, out: string[]): void {
  if (Array.isArray(value)) {
    for (const item of value) {
      const inner = entriesOf(item);
      if (!inner || inner.length === 0) {
        out.push(`${indent}- ${inline(item)}`);
        continue;
      }
      // The item's first line goes after the dash; its other lines are indented under it.
      const start = out.length;
      block(item, `${indent}  `, out);
      out[start] = `${indent}- ${(out[start] ?? '').slice(indent.length + 2)}`;
    }
    return;
  }
  for (const [k, v] of entriesOf(value) as Entries) {
    const inner = entriesOf(v);
    if (!inner || inner.length === 0) {
      out.push(`${indent}${key(k)}: ${inline(v)}`);
    } else {
      out.push(`${indent}${key(k)}:`);
      block(v, `${indent}  `, out);
    }
  }
}

/** `data` (JSON values only) as a YAML document. */
export function yamlText(data: unknown): string {
  const entries = entriesOf(data);
  if (!entries || entries.length === 0) return `${inline(data)}\n`;
  const out: string[] = [];
  block(data, '', out);
  return `${out.join('\n')}\n`;
}
