// Graceful shutdown on SIGTERM / SIGINT: readiness goes false first, then the app's steps run in the
// order they were added, then the lib's own (flush traces, stop metrics, close the admin server),
// all within a deadline; exit 0 if every step succeeded. A second signal exits at once.
import { ObservabilityError } from './errors.ts';
import type { Logger } from './logger.ts';

export type ShutdownStep = () => Promise<void> | void;

export interface Shutdown {
  /** Adds a step; steps run one after another in the order added. */
  addStep(name: string, step: ShutdownStep): void;
  readonly shuttingDown: boolean;
  /** Starts the shutdown as a signal would (e.g. after a fatal error); resolves with the exit code once exit was called. */
  trigger(reason: string): Promise<number>;
  /** Removes the signal handlers (for a process that hands shutdown to someone else). */
  dispose(): void;
}

type ShutdownSignal = 'SIGTERM' | 'SIGINT';

/** Where signals come from: `process` in production, an EventEmitter in unit tests. */
export interface SignalSource {
  on(signal: ShutdownSignal, listener: () => void): unknown;
  off(signal: ShutdownSignal, listener: () => void): unknown;
}

export interface ShutdownOptions {
  logger: Logger;
  /** The whole shutdown must finish within this; otherwise exit 1. Default 25000 ms (under Kubernetes' 30 s grace period). */
  deadlineMs?: number;
  /** Wait after readiness turns false before the first step, so load balancers stop sending. Default 0. */
  drainDelayMs?: number;
  /** Called first, synchronously: flip readiness to false. */
  onBegin?: () => void;
  /** Steps that run after the app's steps (the lib's own teardown). */
  finalSteps?: readonly { name: string; step: ShutdownStep }[];
  /** Default `process.exit`. */
  exit?: (code: number) => void;
  /** Default `process`; `null` installs no handlers (only `trigger` starts a shutdown). */
  signals?: SignalSource | null;
}

const SIGNAL_EXIT_CODES: Record<ShutdownSignal, number> = { SIGINT: 130, SIGTERM: 143 };

export function createShutdown(options: ShutdownOptions): Shutdown {
  const log = options.logger.child({ subsystem: 'shutdown' });
  const deadlineMs = options.deadlineMs ?? 25_000;
  const drainDelayMs = options.drainDelayMs ?? 0;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const signals: SignalSource | undefined = options.signals === null ? undefined : (options.signals ?? process);
  const steps: { name: string; step: ShutdownStep }[] = [];
  let running: Promise<number> | undefined;
  let exited = false;
  // Cleared on exit, so that a stubbed exit (tests) leaves no timer behind.
  const timers = new Set<NodeJS.Timeout>();

  const exitOnce = (code: number): void => {
    if (exited) return;
    exited = true;
    for (const timer of timers) clearTimeout(timer);
    exit(code);
  };

  const run = async (reason: string): Promise<number> => {
    options.onBegin?.();
    log.info({ reason, deadlineMs, steps: steps.map((s) => s.name) }, 'shutting down');
    let current = 'drain';
    const deadline = new Promise<number>((resolve) => {
      const timer = setTimeout(() => {
        log.error({ step: current, deadlineMs }, 'shutdown deadline exceeded; exiting');
        resolve(1);
      }, deadlineMs);
      timers.add(timer);
    });
    const work = (async (): Promise<number> => {
      if (drainDelayMs > 0) await new Promise((resolve) => timers.add(setTimeout(resolve, drainDelayMs)));
      let failed = false;
      for (const { name, step } of [...steps, ...(options.finalSteps ?? [])]) {
        current = name;
        try {
          await step();
          log.info({ step: name }, 'shutdown step done');
        } catch (error) {
          failed = true;
          log.error({ step: name, err: error }, 'shutdown step failed');
        }
      }
      return failed ? 1 : 0;
    })();
    const code = await Promise.race([work, deadline]);
    if (code === 0) log.info('shutdown complete');
    exitOnce(code);
    return code;
  };

  const onSignal = (signal: ShutdownSignal): void => {
    if (running !== undefined) {
      log.warn({ signal }, 'second signal during shutdown; exiting now');
      exitOnce(SIGNAL_EXIT_CODES[signal]);
      return;
    }
    running = run(signal);
  };
  const onTerm = (): void => onSignal('SIGTERM');
  const onInt = (): void => onSignal('SIGINT');
  signals?.on('SIGTERM', onTerm);
  signals?.on('SIGINT', onInt);

  return {
    addStep(name, step) {
      if (running !== undefined) throw new ObservabilityError('shutting-down', `shutdown step "${name}": added after the shutdown started`);
      steps.push({ name, step });
    },
    get shuttingDown() {
      return running !== undefined;
    },
    trigger(reason) {
      running ??= run(reason);
      return running;
    },
    dispose() {
      signals?.off('SIGTERM', onTerm);
      signals?.off('SIGINT', onInt);
    },
  };
}
