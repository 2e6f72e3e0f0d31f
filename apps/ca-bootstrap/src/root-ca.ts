// Loading the root CA until it is there: API failures and a Tresor Secret that was created but could
// not be read back are retried with bounded backoff; a CA Secret with bad contents (or a missing
// bring-your-own / trust-anchor Secret) is reported once per distinct reason and checked again every
// RECHECK_MS, so that fixing it makes the running process ready without a restart. The Secret itself
// is never written here: whatever is stored is the user's to fix.
import { setTimeout as delay } from 'node:timers/promises';
import type { LoadedRoot, Result, RootCAProvider } from '@osm/certificates';
import { backoffMs, statusCode } from '@osm/k8s-writes';
import type { Logger } from '@osm/observability';

/** How often a bad CA Secret is read again. */
export const RECHECK_MS = 5000;

export interface RootLoopOptions {
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /** Told what the loop is doing, for /readyz: still trying (`root-ca`) or waiting for a fix (`failed`). */
  readonly onState: (phase: 'root-ca' | 'failed', reason: string) => void;
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly random?: () => number;
}

const sleepFor = (ms: number, signal: AbortSignal): Promise<void> => delay(ms, undefined, { signal });

/** Resolves with the loaded root once the provider yields one; rejects only when `signal` aborts. */
export async function loadRootCA(provider: RootCAProvider, secret: string, options: RootLoopOptions): Promise<LoadedRoot> {
  const { logger, signal, onState } = options;
  const sleep = options.sleep ?? sleepFor;
  const random = options.random ?? Math.random;
  let transient = 0;
  let reported: string | undefined;
  for (;;) {
    signal.throwIfAborted();
    let result: Result<LoadedRoot>;
    try {
      result = await provider.load();
    } catch (err) {
      if (signal.aborted) throw err;
      transient++;
      const retryInMs = backoffMs(transient, random);
      const message = `loading the root CA (${provider.kind}) from Secret ${secret} failed: ${(err as Error).message}`;
      logger[transient <= 3 ? 'debug' : 'warn']({ err, code: statusCode(err), attempt: transient, retryInMs }, `${message}; retrying`);
      onState('root-ca', `${message} (attempt ${transient}); retrying`);
      await sleep(retryInMs, signal);
      continue;
    }
    if (result.ok) return result.value;
    const { error } = result;
    if (provider.kind === 'tresor' && error.code === 'NotFound') {
      // Created (or found to exist) but gone when read back: deleted meanwhile, or a lagging read. Try again:
      // the next round creates a candidate again if the Secret is really missing.
      transient++;
      const retryInMs = backoffMs(transient, random);
      logger[transient <= 3 ? 'info' : 'warn']({ secret, code: error.code, attempt: transient, retryInMs }, `root CA Secret not read back yet: ${error.message}; retrying`);
      onState('root-ca', `${error.message} (attempt ${transient}); retrying`);
      await sleep(retryInMs, signal);
      continue;
    }
    transient = 0;
    onState('failed', error.message);
    if (reported !== error.message) {
      reported = error.message;
      logger.error(
        { secret, provider: provider.kind, code: error.code, recheckInMs: RECHECK_MS },
        `root CA not loaded: ${error.message}; staying not ready, leaving the Secret unchanged and checking it again every ${RECHECK_MS / 1000} s`,
      );
    } else {
      logger.debug({ secret, code: error.code }, 'root CA Secret checked again: still not usable');
    }
    await sleep(RECHECK_MS, signal);
  }
}
