// Benchmarks entry point: npm run bench -- <id> [--option value ...]
// Prints a summary table and writes bench-results/<id>.json. Timings never fail a build.
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { benchmarks } from './registry.ts';
import type { Benchmark, BenchResult, BenchSettings } from './types.ts';

const usage = (): string =>
  [
    'usage: npm run bench -- <id> [--option value ...]',
    '',
    benchmarks.length === 0
      ? "No benchmarks exist yet (the README's Benchmarks section lists them as they arrive)."
      : 'benchmarks:\n' + benchmarks.map((b) => `  ${b.id.padEnd(10)} ${b.description}`).join('\n'),
  ].join('\n');

function parseOptions(args: readonly string[]): Record<string, string> {
  const options: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (!arg.startsWith('--')) throw new Error(`unexpected argument '${arg}': options are --name value`);
    const [name, inline] = arg.slice(2).split('=', 2) as [string, string | undefined];
    const value = inline ?? args[++i];
    if (value === undefined) throw new Error(`option --${name} needs a value`);
    options[name] = value;
  }
  return options;
}

async function main(argv: readonly string[]): Promise<number> {
  const [id, ...rest] = argv;
  if (id === undefined || id === '--help' || id === '-h' || id === 'list') {
    console.log(usage());
    return 0;
  }
  const bench: Benchmark | undefined = benchmarks.find((b) => b.id.toLowerCase() === id.toLowerCase());
  if (!bench) {
    console.error(`unknown benchmark '${id}'\n\n${usage()}`);
    return 2;
  }
  const options = parseOptions(rest);
  // The options go into the file: a figure is only comparable with one from the same scale and settings.
  const header = { id: bench.id, options, node: process.version, cores: availableParallelism(), date: new Date().toISOString() };
  console.log(`${bench.id}: ${bench.description}\nnode ${header.node}, ${header.cores} cores, ${header.date}, options ${JSON.stringify(options)}`);
  const settings: Record<string, BenchSettings[string]> = {};
  const results: BenchResult[] = await bench.run(
    options,
    (line) => console.log(`  ${line}`),
    (resolved) => Object.assign(settings, resolved),
  );
  console.log(`\nsettings ${JSON.stringify(settings)}`);
  console.table(results.map((r) => ({ name: r.name, value: Number(r.value.toPrecision(6)), unit: r.unit })));
  const dir = fileURLToPath(new URL('../../bench-results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const file = `${dir}${bench.id}.json`;
  writeFileSync(file, JSON.stringify({ ...header, settings, results }, null, 2) + '\n');
  console.log(`wrote ${file}`);
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
