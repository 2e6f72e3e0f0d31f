/** One figure a benchmark reports, named plainly (e.g. `concurrent32_per_s`). */
export interface BenchResult {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
}

/** Settings a run used that its options did not say: the defaults it resolved, and what they made (simulator processes). */
export type BenchSettings = Readonly<Record<string, string | number | boolean>>;

/**
 * A benchmark: `npm run bench -- <id> [options]` runs it; options are its own `--name value` flags.
 * `record` adds settings to the result file's `settings` (beside `options`, the flags given), so a
 * file says how it was produced.
 */
export interface Benchmark {
  readonly id: string;
  readonly description: string;
  run(options: Readonly<Record<string, string>>, progress: (line: string) => void, record: (settings: BenchSettings) => void): Promise<BenchResult[]>;
}
