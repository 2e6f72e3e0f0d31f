// Public entry of @osm/observability: one admin server, Prometheus metrics through OpenTelemetry,
// traces over OTLP, pino logs without secrets, graceful shutdown. Apps call createObservability once.
export { createObservability } from './observability.ts';
export type { Observability, ObservabilityOptions } from './observability.ts';

export { ObservabilityError } from './errors.ts';
export type { ObservabilityErrorCode } from './errors.ts';

export { createLogger, parseLogLevel, LOG_LEVELS } from './logger.ts';
export type { LogDestination, LogLevel, Logger, LoggerOptions } from './logger.ts';
export { redactSecrets, REDACTED } from './redact.ts';

export { DURATION_BUCKETS_SECONDS } from './metrics.ts';
export type { Counter, Gauge, Histogram, HistogramOptions, LabelSet, LabelValue, MetricOptions, Metrics, Observe, UpDownCounter, VersionInfo } from './metrics.ts';

export { withSpan } from './tracing.ts';
export type { TracingOptions } from './tracing.ts';
export type { Attributes, Span, Tracer } from '@opentelemetry/api';

export type { AdminServer, CheckState, ReadinessCheck, ReadinessReport, ReadinessResult, VersionDocument } from './admin-server.ts';
export type { Shutdown, ShutdownStep } from './shutdown.ts';
