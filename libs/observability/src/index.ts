// Public entry of @osm/observability: one admin server, Prometheus metrics through OpenTelemetry,
// traces over OTLP, pino logs without secrets, graceful shutdown. Apps call createObservability once:
//
//   const obs = await createObservability({
//     component: 'controller',
//     version: { version, gitCommit, buildDate },
//     logLevel: flags.logLevel,                       // 'info', 'debug', OSM's 'panic' / 'disabled', ...
//     admin: { port: 9091 },                          // /livez /readyz /metrics /version /health/{ready,alive}
//     tracing: { otlpEndpoint: flags.otlpEndpoint },  // off (no-op tracer) when empty
//     shutdown: { deadlineMs: 25_000 },
//   });
//   const pushes = obs.metrics.counter('osm_proxy_response_send_success_count', { help: '...', labels: ['type'] });
//   pushes.inc({ type: 'CDS' });
//   obs.admin.addReadinessCheck('caches-synced', () => informers.hasSynced());
//   obs.shutdown.addStep('stop-ads-server', () => ads.close());   // runs on SIGTERM after /readyz turns 503
//   await withSpan(obs.tracer, 'recompute', { 'osm.proxy.count': n }, async () => { ... });
//   meshConfig.onChange((mc) => obs.setLogLevel(mc.spec.observability.osmLogLevel));
export { createObservability } from './observability.ts';
export type { Observability, ObservabilityOptions } from './observability.ts';

export { ObservabilityError } from './errors.ts';
export type { ObservabilityErrorCode } from './errors.ts';

export { createLogger, parseLogLevel, LOG_LEVELS } from './logger.ts';
export { FlagError, logLevelFlag, parseFlagValues, parseOrExit, portFlag, runMain } from './command-line.ts';
export type { LogDestination, LogLevel, Logger, LoggerOptions } from './logger.ts';
export { redactSecrets, REDACTED } from './redact.ts';

export { DURATION_BUCKETS_SECONDS } from './metrics.ts';
export type { Counter, Gauge, Histogram, HistogramOptions, LabelSet, LabelValue, MetricOptions, Metrics, Observe, UpDownCounter, VersionInfo } from './metrics.ts';

export { failSpan, spanContext, traceContextFromHeaders, tracingFlagSpecs, tracingFlagsUsage, tracingOptionsFromFlags, withSpan } from './tracing.ts';
export type { TracingOptions } from './tracing.ts';
export type { Attributes, Context, Link, Span, SpanContext, Tracer } from '@opentelemetry/api';

export type { AdminServer, CheckState, JsonRoute, ReadinessCheck, ReadinessReport, ReadinessResult, VersionDocument } from './admin-server.ts';
export type { Shutdown, ShutdownStep } from './shutdown.ts';
