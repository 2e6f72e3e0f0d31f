// Command-line parsing shared by the commands: node:util parseArgs, plus Go-style booleans
// (`--wait=false`, as cobra takes them) and Go durations (`--timeout 5m`).
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parseGoDuration } from '@osm/mesh-model';
import { CliError } from './errors.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

export interface Parsed {
  readonly values: Record<string, string | boolean | string[] | undefined>;
  readonly positionals: string[];
  readonly help: boolean;
}

/** Parses `argv` against `options` (plus -h/--help); `usage` names the command in errors. */
export function parse(argv: readonly string[], options: Options, usage: string): Parsed {
  const booleans = new Set(Object.entries(options).filter(([, o]) => o.type === 'boolean').map(([name]) => name));
  const args = argv.map((arg) => {
    const m = /^--([^=]+)=(.*)$/.exec(arg);
    if (!m?.[1] || !booleans.has(m[1])) return arg;
    if (m[2] === 'true') return `--${m[1]}`;
    if (m[2] === 'false') return `--no-${m[1]}`;
    throw new CliError('usage', `--${m[1]}=${m[2]} is not valid: allowed values are true, false. Run '${usage} --help' for usage`);
  });
  try {
    const { values, positionals } = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, allowNegative: true, strict: true });
    return { values: values as Parsed['values'], positionals, help: values['help'] === true };
  } catch (err) {
    throw new CliError('usage', `${(err as Error).message.split('\n')[0]}. Run '${usage} --help' for usage`, { cause: err });
  }
}

/** A Go duration flag in milliseconds (0 allowed). */
export function durationFlag(flag: string, value: string): number {
  const ms = parseGoDuration(value);
  if (ms === undefined || ms < 0) throw new CliError('usage', `--${flag} ${JSON.stringify(value)} is not valid: expected a Go duration such as 90s or 5m`);
  return ms;
}

export function stringFlag(values: Parsed['values'], name: string): string {
  const v = values[name];
  return typeof v === 'string' ? v : '';
}

/** A Kubernetes object name (DNS label): mesh and namespace names. */
export function dnsLabelFlag(flag: string, value: string): string {
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(value)) {
    throw new CliError('usage', `--${flag} ${JSON.stringify(value)} is not valid: expected a DNS label (lower-case letters, digits and '-', at most 63)`);
  }
  return value;
}
