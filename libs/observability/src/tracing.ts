// Tracing with the OpenTelemetry SDK, exported over OTLP/HTTP (JSON) only when an endpoint is
// configured. Without one the tracer is a no-op: no provider, no context manager, no exporter, and the
// SDK's modules are not even loaded (0.1-0.35 s of a start, which a restarted replica's proxies wait out).
import { ProxyTracerProvider, ROOT_CONTEXT, SpanStatusCode, context, defaultTextMapGetter, trace } from '@opentelemetry/api';
import type { Attributes, Context, Span, Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import { ObservabilityError } from './errors.ts';
import { redactString } from './redact.ts';

export interface TracingOptions {
  /**
   * OTLP/HTTP collector endpoint, e.g. `http://otel-collector.monitoring:4318`; spans are posted to
   * `<endpoint>/v1/traces` (or to the endpoint itself if it already ends with `/v1/traces`).
   * Tracing is off when absent or empty.
   */
  otlpEndpoint?: string;
  /** Fraction of new traces sampled, 0..1 (children follow their parent). Default 1. */
  sampleRatio?: number;
  /** Longest time a finished span waits in the batch before export, in ms. Default 5000. */
  exportDelayMs?: number;
  /** Extra HTTP headers for the collector (e.g. authorization). */
  headers?: Record<string, string>;
  /** Longest wait for the collector when exporting, and for the final flush at shutdown, in ms. Default 5000. */
  flushTimeoutMs?: number;
}

export interface Tracing {
  readonly tracer: Tracer;
  readonly enabled: boolean;
  /** Exports the spans finished so far. */
  forceFlush(): Promise<void>;
  /** Exports what is left (waiting `flushTimeoutMs` at most: a collector that is down must not hold up an exit) and stops tracing. */
  shutdown(): Promise<{ flushed: boolean; error?: unknown }>;
}

function tracesUrl(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch (cause) {
    throw new ObservabilityError('invalid-argument', `tracing.otlpEndpoint: "${endpoint}" is not a URL; expected http(s)://host:port`, { cause });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ObservabilityError('invalid-argument', `tracing.otlpEndpoint: protocol "${url.protocol}" is not supported; allowed: http:, https:`);
  }
  if (url.pathname.endsWith('/v1/traces')) return url.toString();
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/traces`;
  return url.toString();
}

export async function createTracing(options: TracingOptions, resource: Resource, scope: { name: string; version: string }): Promise<Tracing> {
  const endpoint = options.otlpEndpoint?.trim() ?? '';
  if (endpoint === '') {
    // A provider of our own with no delegate: always the API's no-op tracer, even if something else
    // registers a global provider later.
    const tracer = new ProxyTracerProvider().getTracer(scope.name, scope.version);
    return { tracer, enabled: false, forceFlush: () => Promise.resolve(), shutdown: () => Promise.resolve({ flushed: true }) };
  }
  const ratio = options.sampleRatio ?? 1;
  if (!(ratio >= 0 && ratio <= 1)) {
    throw new ObservabilityError('invalid-argument', `tracing.sampleRatio: ${ratio} is out of range; allowed: 0 to 1`);
  }
  const flushTimeoutMs = options.flushTimeoutMs ?? 5000;
  const url = tracesUrl(endpoint);
  const [{ AsyncLocalStorageContextManager }, { OTLPTraceExporter }, { BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, TracerProvider }] = await Promise.all([
    import('@opentelemetry/context-async-hooks'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/sdk-trace'),
  ]);
  const exporter = new OTLPTraceExporter({ url, timeoutMillis: flushTimeoutMs, ...(options.headers ? { headers: options.headers } : {}) });
  const provider = new TracerProvider({
    resource,
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) }),
    spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: options.exportDelayMs ?? 5000, exportTimeoutMillis: flushTimeoutMs })],
  });
  // Active-span propagation across awaits (and so trace ids in log lines) needs the global context
  // manager; it is the only global this lib sets, and only when tracing is on.
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  return {
    tracer: provider.getTracer(scope.name, scope.version),
    enabled: true,
    forceFlush: () => provider.forceFlush(),
    shutdown: async () => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<{ flushed: boolean }>((resolve) => {
        timer = setTimeout(() => resolve({ flushed: false }), flushTimeoutMs);
      });
      try {
        // A collector that refuses or fails the last export costs those spans, never the exit.
        const flush = provider.shutdown().then(
          () => ({ flushed: true }),
          (error: unknown) => ({ flushed: false, error }),
        );
        return await Promise.race([flush, timeout]);
      } finally {
        clearTimeout(timer);
        context.disable();
      }
    },
  };
}

const w3c = new W3CTraceContextPropagator();

/**
 * The trace context a caller sent in W3C `traceparent` / `tracestate` headers (the kube-apiserver
 * sends them to admission webhooks when its tracing is on), as the parent for withSpan.
 */
export function traceContextFromHeaders(headers: Readonly<Record<string, string | string[] | undefined>>): Context {
  return w3c.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
}

/**
 * Runs `fn` inside an active span named `name`: nested spans and log lines see it; an exception
 * marks the span as failed (and is rethrown); the span ends when `fn` settles. The parent is the
 * active span, or `parent` when given (see traceContextFromHeaders).
 */
export function withSpan<T>(tracer: Tracer, name: string, attributes: Attributes, fn: (span: Span) => Promise<T> | T, parent?: Context): Promise<T> {
  const run = async (span: Span): Promise<T> => {
    try {
      return await fn(span);
    } catch (error) {
      failSpan(span, error);
      throw error;
    } finally {
      span.end();
    }
  };
  return parent === undefined ? tracer.startActiveSpan(name, { attributes }, run) : tracer.startActiveSpan(name, { attributes }, parent, run);
}

/**
 * Marks `span` as failed with `error` (an Error, or a message such as a proxy's NACK detail): an
 * exception event and the ERROR status, the message redacted as log lines are (it leaves the process).
 */
export function failSpan(span: Span, error: unknown): void {
  const message = redactString(error instanceof Error ? error.message : String(error));
  span.recordException({ name: error instanceof Error ? error.name : 'Error', message });
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

/** A context whose active span is `span`: the parent to give spans started outside its callback. */
export function spanContext(span: Span): Context {
  return trace.setSpan(ROOT_CONTEXT, span);
}

/** The tracing flags every component takes, for node:util parseArgs (with tracingOptionsFromFlags). */
export const tracingFlagSpecs = {
  'otlp-endpoint': { type: 'string', default: '' },
  'trace-sample-ratio': { type: 'string', default: '1' },
} as const;

/** Their lines in a --help text. */
export const tracingFlagsUsage = `  --otlp-endpoint URL     send traces over OTLP/HTTP (JSON) to URL, e.g. http://otel-collector:4318 (default: off)
  --trace-sample-ratio R  fraction of traces kept, 0 to 1, when --otlp-endpoint is set (default 1)`;

/** Tracing options from the parsed flags, or a message naming the flag and the allowed values. */
export function tracingOptionsFromFlags(values: { readonly 'otlp-endpoint': string; readonly 'trace-sample-ratio': string }): { options: TracingOptions } | { error: string } {
  const otlpEndpoint = values['otlp-endpoint'].trim();
  const text = values['trace-sample-ratio'].trim();
  const sampleRatio = Number(text);
  if (text === '' || !(sampleRatio >= 0 && sampleRatio <= 1)) {
    return { error: `--trace-sample-ratio ${JSON.stringify(values['trace-sample-ratio'])} is not valid: expected a number from 0 to 1` };
  }
  if (otlpEndpoint !== '') {
    try {
      tracesUrl(otlpEndpoint);
    } catch (err) {
      return { error: `--otlp-endpoint ${JSON.stringify(otlpEndpoint)} is not valid: expected an http:// or https:// URL such as http://otel-collector:4318 (${(err as Error).message})` };
    }
  }
  return { options: { otlpEndpoint, sampleRatio } };
}
