// The command-line plumbing every app shares: strict flag parsing with OSM-style messages (a bad value
// names the flag and the allowed values), and the start of the process (exit 2 on a bad flag, exit 1
// with the stack when main fails).
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { parseLogLevel } from './logger.ts';

/** A bad command line: the message names the flag and what it allows. */
export class FlagError extends Error {
  readonly code = 'invalid-flag';
  override name = 'FlagError';
}

/** `node:util` parseArgs, strict and without positionals; a parse error becomes a FlagError followed by `usage`. */
export function parseFlagValues<const O extends ParseArgsOptionsConfig>(argv: readonly string[], options: O, usage: string): ReturnType<typeof parseArgs<{ args: string[]; strict: true; allowPositionals: false; options: O }>>['values'] {
  try {
    return parseArgs({ args: [...argv], strict: true, allowPositionals: false, options }).values;
  } catch (err) {
    throw new FlagError(`${(err as Error).message}\n${usage}`, { cause: err });
  }
}

/** `--<flag>`'s value as a port number `min`-65535. */
export function portFlag(flag: string, value: string, min = 0): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > 65535) throw new FlagError(`--${flag} ${JSON.stringify(value)} is not valid: expected an integer ${min}-65535`);
  return n;
}

/** `--log-level`'s value as a log level (OSM's aliases accepted). */
export function logLevelFlag(value: string): string {
  try {
    return parseLogLevel(value, '--log-level');
  } catch (err) {
    throw new FlagError((err as Error).message, { cause: err });
  }
}

/** Parses the command line; a FlagError goes to stderr and the process exits with 2 (anything else too, as text). */
export function parseOrExit<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    process.stderr.write(`${err instanceof FlagError ? err.message : String(err)}\n`);
    process.exit(2);
  }
}

/**
 * Runs the app's `main`; a failure goes to stderr with its stack, prefixed by `component`, and the
 * process exits with 1. An AbortError is not a failure: a shutdown that interrupted start-up ends the
 * process through the shutdown itself.
 */
export function runMain(component: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    if (err instanceof Error && err.name === 'AbortError') return;
    process.stderr.write(`${component}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
