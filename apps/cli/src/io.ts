// Where a command writes: results to stdout, progress and warnings to stderr.
export interface Io {
  /** A result line (or block) on stdout. */
  out(text: string): void;
  /** A progress or warning line on stderr. */
  progress(line: string): void;
}

export const processIo: Io = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  progress: (line) => process.stderr.write(`${line}\n`),
};

export const FIELD_MANAGER = 'osm-cli';

/** Rows as left-aligned columns three spaces apart (OSM's tabwriter output). */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => c.padEnd((widths[i] ?? 0) + 3)).join('').trimEnd()).join('\n');
}
