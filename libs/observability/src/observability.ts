// One call per process: logger, metrics, tracer, admin server and shutdown, wired together.
import { DiagLogLevel, diag } from '@opentelemetry/api';
import type { Tracer } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { hostname } from 'node:os';
import { startAdminServer } from './admin-server.ts';
import type { AdminServer } from './admin-server.ts';
import { ObservabilityError } from './errors.ts';
import { createLogger, parseLogLevel } from './logger.ts';
import type { LogDestination, LogLevel, Logger } from './logger.ts';
import { createMetrics, keepDeclaredCounterNames, registerVersionInfo } from './metrics.ts';
import type { Metrics } from './metrics.ts';
import { registerRuntimeMetrics } from './runtime-metrics.ts';
import { createShutdown } from './shutdown.ts';
import type { Shutdown, ShutdownStep } from './shutdown.ts';
import { createTracing } from './tracing.ts';
import type { TracingOptions } from './tracing.ts';

export interface ObservabilityOptions {
  /** `controller`, `injector`, `ca-bootstrap`, ...: on every log line, in /version, in the trace resource. */
  component: string;
  version: { version: string; gitCommit?: string; buildDate?: string };
  /** A pino level or OSM's (`panic`, `disabled`), e.g. straight from a flag. Default `info`. */
  logLevel?: string;
  /** Where log lines go; stdout when absent. */
  logDestination?: LogDestination;
  /** This instance (the pod name); default the host name. */
  instanceId?: string;
  admin?: { host?: string; port?: number; checkTimeoutMs?: number };
  tracing?: TracingOptions;
  shutdown?: {
    deadlineMs?: number;
    drainDelayMs?: number;
    /**
     * Own the process: SIGTERM/SIGINT start the graceful shutdown, and an uncaught exception or
     * unhandled rejection is logged as one fatal JSON line before exit 1. Default true.
     */
    handleSignals?: boolean;
    /** Default `process.exit`. */
    exit?: (code: number) => void;
  };
  /** Node process/runtime metrics. Default true. */
  runtimeMetrics?: boolean;
}

export interface Observability {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** A no-op tracer unless `tracing.otlpEndpoint` is set. */
  readonly tracer: Tracer;
  readonly tracingEnabled: boolean;
  readonly admin: AdminServer;
  readonly shutdown: Shutdown;
  /** Changes the level of the root logger and of every child that did not set its own. */
  setLogLevel(level: string): LogLevel;
  /** Tears everything down without exiting (the same steps as the end of a shutdown). */
  close(): Promise<void>;
}

const COMPONENT = /^[a-z][a-z0-9-]{0,62}$/;

export async function createObservability(options: ObservabilityOptions): Promise<Observability> {
  if (!COMPONENT.test(options.component)) {
    throw new ObservabilityError('invalid-argument', `component: "${options.component}" must match ${COMPONENT.source}`);
  }
  if (options.version.version.trim() === '') throw new ObservabilityError('invalid-argument', 'version.version: must not be empty');
  const component = options.component;
  const versionInfo = {
    version: options.version.version,
    gitCommit: options.version.gitCommit ?? 'unknown',
    buildDate: options.version.buildDate ?? 'unknown',
  };
  const level = parseLogLevel(options.logLevel ?? 'info', 'logLevel');
  const tracingOn = (options.tracing?.otlpEndpoint?.trim() ?? '') !== '';
  const logger = createLogger({ component, level, traceIds: tracingOn, ...(options.logDestination ? { destination: options.logDestination } : {}) });

  const otelLog = logger.child({ subsystem: 'opentelemetry' });
  // pino serializes an Error only under `err`: spell out the ones OpenTelemetry passes along.
  const diagArgs = (args: unknown[]): { args: unknown[] } => ({ args: args.map((a) => (a instanceof Error ? { type: a.name, message: a.message } : a)) });
  diag.setLogger(
    {
      error: (message, ...args) => otelLog.error(diagArgs(args), message),
      warn: (message, ...args) => otelLog.warn(diagArgs(args), message),
      info: (message, ...args) => otelLog.info(diagArgs(args), message),
      debug: (message, ...args) => otelLog.debug(diagArgs(args), message),
      verbose: (message, ...args) => otelLog.trace(diagArgs(args), message),
    },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );

  const resource = resourceFromAttributes({
    'service.name': `osm-${component}`,
    'service.namespace': 'osm',
    'service.version': versionInfo.version,
    'service.instance.id': options.instanceId ?? hostname(),
  });
  const scope = { name: `osm-${component}`, version: versionInfo.version };

  // First, as it validates its options: nothing to undo if they are bad.
  const tracing = await createTracing(options.tracing ?? {}, resource, scope);

  const exporter = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ resource, readers: [exporter] });
  const meter = meterProvider.getMeter(scope.name, scope.version);
  const { metrics, counterNames } = createMetrics(meter);
  registerVersionInfo(metrics, versionInfo);
  const runtime = options.runtimeMetrics === false ? undefined : registerRuntimeMetrics(metrics, meter);
  // No scope labels: one component, one scope; target_info carries the resource.
  const serializer = new PrometheusSerializer(undefined, false, undefined, false, true);
  const renderMetrics = async (): Promise<string> => {
    const { resourceMetrics, errors } = await exporter.collect();
    if (errors.length > 0) otelLog.warn({ errors }, 'metric collection errors');
    return keepDeclaredCounterNames(serializer.serialize(resourceMetrics), counterNames);
  };

  let admin: AdminServer;
  try {
    admin = await startAdminServer({
      ...options.admin,
      version: { component, ...versionInfo },
      metrics: renderMetrics,
      logger,
    });
  } catch (error) {
    runtime?.stop();
    await Promise.allSettled([tracing.shutdown(), meterProvider.shutdown()]);
    throw error;
  }
  // /readyz as a series, so an alert can tell a running but unready instance (caches not synced, no
  // root CA, shutting down) from a ready one; `up` only says the scrape worked. The component label
  // names the component whatever the scrape configuration calls its job.
  meter
    .createObservableGauge('osm_ready', { description: 'Whether this instance is ready (1: /readyz answers 200) or not (0)' })
    .addCallback(async (result) => result.observe((await admin.readiness()).ready ? 1 : 0, { component }));

  const finalSteps: { name: string; step: ShutdownStep }[] = [
    {
      name: 'flush-traces',
      step: async () => {
        const { flushed, error } = await tracing.shutdown();
        if (!flushed) otelLog.warn({ err: error }, 'trace collector did not take the last spans; dropped them');
      },
    },
    {
      name: 'stop-metrics',
      step: async () => {
        runtime?.stop();
        await meterProvider.shutdown();
      },
    },
    { name: 'close-admin-server', step: () => admin.close() },
  ];
  const shutdown = createShutdown({
    logger,
    ...(options.shutdown?.deadlineMs === undefined ? {} : { deadlineMs: options.shutdown.deadlineMs }),
    ...(options.shutdown?.drainDelayMs === undefined ? {} : { drainDelayMs: options.shutdown.drainDelayMs }),
    ...(options.shutdown?.exit === undefined ? {} : { exit: options.shutdown.exit }),
    ...(options.shutdown?.handleSignals === false ? { signals: null } : {}),
    onBegin: () => admin.setShuttingDown(),
    finalSteps,
  });

  // After an uncaught error the state is unknown: no graceful steps, just the reason, then exit 1.
  const exit = options.shutdown?.exit ?? ((code: number) => process.exit(code));
  const onFatal = (error: unknown, origin: string): void => {
    logger.fatal({ err: error, origin }, 'uncaught error; exiting');
    exit(1);
  };
  const ownsProcess = options.shutdown?.handleSignals !== false;
  if (ownsProcess) process.on('uncaughtException', onFatal);
  let closed: Promise<void> | undefined;
  return {
    logger,
    metrics,
    tracer: tracing.tracer,
    tracingEnabled: tracing.enabled,
    admin,
    shutdown,
    setLogLevel(value: string): LogLevel {
      const next = parseLogLevel(value, 'logLevel');
      if (logger.level !== next) {
        logger.info({ from: logger.level, to: next }, 'log level changed');
        logger.level = next;
      }
      return next;
    },
    close() {
      closed ??= (async () => {
        shutdown.dispose();
        process.off('uncaughtException', onFatal);
        admin.setShuttingDown();
        for (const { step } of finalSteps) await step();
      })();
      return closed;
    },
  };
}
