/** One figure a benchmark reports, named plainly (e.g. `concurrent32_per_s`). */
export interface BenchResult {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
}

/** A benchmark: `npm run bench -- <id> [options]` runs it; options are its own `--name value` flags. */
export interface Benchmark {
  readonly id: string;
  readonly description: string;
  run(options: Readonly<Record<string, string>>, progress: (line: string) => void): Promise<BenchResult[]>;
}
