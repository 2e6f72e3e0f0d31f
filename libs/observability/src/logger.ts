// pino JSON logs: one root logger per process, child loggers per component / proxy / stream, secrets
// redacted from every argument and binding, and the active trace and span ids on every line.
import { context, isSpanContextValid, trace } from '@opentelemetry/api';
import pino from 'pino';
import { ObservabilityError } from './errors.ts';
import { redactJsonLine, redactSecrets } from './redact.ts';

export type Logger = pino.Logger;
export type LogDestination = pino.DestinationStream;

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** OSM's MeshConfig `observability.osmLogLevel` values (zerolog) that pino spells differently. */
const OSM_LEVEL_ALIASES: Readonly<Record<string, LogLevel>> = { panic: 'fatal', disabled: 'silent' };

/**
 * Parses a log level from a flag or from MeshConfig `observability.osmLogLevel`. Accepts pino's
 * levels and OSM's `panic` and `disabled`, case-insensitively; anything else is an error naming
 * `field` and the allowed values.
 */
export function parseLogLevel(value: string, field = 'logLevel'): LogLevel {
  const lower = value.trim().toLowerCase();
  const alias = OSM_LEVEL_ALIASES[lower];
  if (alias !== undefined) return alias;
  const level = LOG_LEVELS.find((l) => l === lower);
  if (level === undefined) {
    throw new ObservabilityError(
      'invalid-argument',
      `${field}: "${value}" is not a log level; allowed: ${[...LOG_LEVELS, ...Object.keys(OSM_LEVEL_ALIASES)].join(', ')}`,
    );
  }
  return level;
}

export interface LoggerOptions {
  /** Written as `component` on every line. */
  component: string;
  level?: LogLevel;
  /** Where lines go; stdout (synchronously, so nothing is lost at exit) when absent. */
  destination?: LogDestination;
  /** Add `trace_id` / `span_id` of the active span to each line (needs a context manager: see tracing). */
  traceIds?: boolean;
}

function traceMixin(): Record<string, string> {
  const span = trace.getSpan(context.active());
  if (span === undefined) return {};
  const spanContext = span.spanContext();
  if (!isSpanContextValid(spanContext)) return {};
  return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
}

/**
 * Creates the process's root logger. Child loggers (`logger.child({ proxy })`) inherit its level
 * while they don't set their own, so changing `logger.level` on the root changes them all.
 */
export function createLogger(options: LoggerOptions): Logger {
  const loggerOptions: pino.LoggerOptions = {
    level: options.level ?? 'info',
    base: { component: options.component },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      level: (label) => ({ level: label }),
    },
    hooks: {
      logMethod(args, method) {
        for (let i = 0; i < args.length; i++) args[i] = redactSecrets(args[i]);
        method.apply(this, args);
      },
      // Last line of defence for a PEM key that got past the walk (e.g. inside a custom serializer's output).
      streamWrite: redactJsonLine,
    },
    ...(options.traceIds === true ? { mixin: traceMixin } : {}),
  };
  const root = pino(loggerOptions, options.destination ?? pino.destination({ dest: 1, sync: true }));
  // Child bindings are serialized once, at child() time, without passing through the log hooks.
  // Children are created with Object.create(parent), so they inherit this override.
  type ChildFn = (this: Logger, bindings: pino.Bindings, childOptions?: pino.ChildLoggerOptions) => Logger;
  const child = root.child as unknown as ChildFn;
  const redactingChild: ChildFn = function (bindings, childOptions) {
    return child.call(this, redactSecrets(bindings) as pino.Bindings, childOptions);
  };
  root.child = redactingChild as unknown as Logger['child'];
  return root;
}
