// The CLI's errors: each becomes one line on stderr and an exit code at the edge (main.ts).

export type CliErrorCode = 'usage' | 'invalid-values' | 'helm' | 'kube' | 'timeout' | 'not-found' | 'refused';

export class CliError extends Error {
  override name = 'CliError';
  readonly code: CliErrorCode;
  constructor(code: CliErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Exit codes: 2 for a command line or values that are wrong (nothing was done), 1 for everything else. */
export function exitCode(err: CliError): number {
  return err.code === 'usage' || err.code === 'invalid-values' ? 2 : 1;
}
