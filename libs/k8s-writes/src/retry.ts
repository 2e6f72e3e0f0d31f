// Start-up calls to the Kubernetes API (apply the CRDs, create the MeshConfig, load the root CA, apply
// the webhook configuration) are retried until they succeed: an API server that is still starting, or
// briefly away, delays an app's readiness instead of ending the process.
import { setTimeout as sleep } from 'node:timers/promises';
import { statusCode } from './errors.ts';

export const BACKOFF_INITIAL_MS = 200;
export const BACKOFF_MAX_MS = 5000;

/** Delay before retry number `attempt` (1-based): 200 ms doubling up to 5 s, jittered by ±20 % (`random` in [0, 1)). */
export function backoffMs(attempt: number, random: () => number): number {
  const base = Math.min(BACKOFF_INITIAL_MS * 2 ** Math.min(attempt - 1, 30), BACKOFF_MAX_MS);
  return Math.round(base * (0.8 + random() * 0.4));
}

/** What retryUntilDone logs through (a pino logger is one). */
export interface RetryLogger {
  debug(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/**
 * Calls `fn` until it returns a value other than undefined, waiting backoffMs between attempts. A
 * failure is logged (debug for the first three attempts, then warn, with the API's status code) and
 * retried; undefined is retried without a log line (`fn` says why itself). Rejects once `signal` aborts.
 */
export async function retryUntilDone<T>(what: string, logger: RetryLogger, signal: AbortSignal, fn: () => Promise<T | undefined>, random: () => number = Math.random): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    signal.throwIfAborted();
    const retryInMs = backoffMs(attempt, random);
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch (err) {
      if (signal.aborted) throw err;
      logger[attempt <= 3 ? 'debug' : 'warn']({ err, code: statusCode(err), attempt, retryInMs }, `${what} failed; retrying`);
    }
    await sleep(retryInMs, undefined, { signal });
  }
}
