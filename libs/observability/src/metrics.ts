// Typed helpers over an OpenTelemetry Meter: an app declares each metric once, with its label names,
// and the compiler then checks every recording's labels. Exposed by the admin server's /metrics in
// Prometheus text format, under exactly the names declared here (see keepDeclaredCounterNames).
import type { Attributes, Meter, ObservableResult } from '@opentelemetry/api';
import { ObservabilityError } from './errors.ts';

export type LabelValue = string | number | boolean;
/** One value per declared label name. */
export type LabelSet<L extends string> = Readonly<Record<L, LabelValue>>;
/** No argument for a metric without labels; the full label set otherwise. */
export type LabelArgs<L extends string> = [L] extends [never] ? [] : [labels: LabelSet<L>];

export interface MetricOptions<L extends string> {
  /** The Prometheus HELP text. */
  help: string;
  /** Label names, e.g. `['type', 'outcome'] as const` (the `const` type parameter infers them). */
  labels?: readonly L[];
}

export interface HistogramOptions<L extends string> extends MetricOptions<L> {
  /** Upper bounds of the buckets, strictly increasing; DURATION_BUCKETS_SECONDS when absent. */
  buckets?: readonly number[];
}

export interface Counter<L extends string = never> {
  add(value: number, ...labels: LabelArgs<L>): void;
  inc(...labels: LabelArgs<L>): void;
}

/** A value that goes up and down by deltas (e.g. connected proxies). */
export interface UpDownCounter<L extends string = never> {
  add(value: number, ...labels: LabelArgs<L>): void;
}

/** A value that is set (the last set value per label set is exported). */
export interface Gauge<L extends string = never> {
  set(value: number, ...labels: LabelArgs<L>): void;
}

export interface Histogram<L extends string = never> {
  record(value: number, ...labels: LabelArgs<L>): void;
  /** Starts a timer; calling the result records the elapsed seconds with the labels and returns them. */
  startTimer(): (...labels: LabelArgs<L>) => number;
}

/** Reports one observation of an observable gauge. */
export type Observe<L extends string> = (value: number, ...labels: LabelArgs<L>) => void;

export interface Metrics {
  counter<const L extends string = never>(name: string, options: MetricOptions<L>): Counter<L>;
  upDownCounter<const L extends string = never>(name: string, options: MetricOptions<L>): UpDownCounter<L>;
  gauge<const L extends string = never>(name: string, options: MetricOptions<L>): Gauge<L>;
  histogram<const L extends string = never>(name: string, options: HistogramOptions<L>): Histogram<L>;
  /** A gauge read at scrape time: `callback` reports the current values. */
  observableGauge<const L extends string = never>(name: string, options: MetricOptions<L>, callback: (observe: Observe<L>) => void): void;
  /**
   * A counter whose running totals the caller keeps and `callback` reports at scrape time: for counts
   * bumped on a hot path, where a Counter's per-call label hashing costs more than the work counted.
   */
  observableCounter<const L extends string = never>(name: string, options: MetricOptions<L>, callback: (observe: Observe<L>) => void): void;
}

/**
 * Buckets (seconds) for durations from 1 ms to 30 s, such as a proxy's config update time or a
 * certificate issuance: about three per decade, so p50/p99 stay readable across the whole range.
 */
export const DURATION_BUCKETS_SECONDS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

const METRIC_NAME = /^[a-zA-Z][a-zA-Z0-9_]{0,254}$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const RESERVED_LABELS = new Set(['le', 'quantile', 'job', 'instance', 'otel_scope_name', 'otel_scope_version']);

function validate(name: string, options: MetricOptions<string>, seen: Set<string>): void {
  if (!METRIC_NAME.test(name)) {
    throw new ObservabilityError('invalid-argument', `metric name: "${name}" must match ${METRIC_NAME.source} (letters, digits, _)`);
  }
  if (seen.has(name)) throw new ObservabilityError('already-exists', `metric name: "${name}" is already declared`);
  if (options.help.trim() === '') throw new ObservabilityError('invalid-argument', `metric ${name}: help must not be empty`);
  const labels = new Set<string>();
  for (const label of options.labels ?? []) {
    if (!LABEL_NAME.test(label) || label.startsWith('__') || RESERVED_LABELS.has(label)) {
      throw new ObservabilityError(
        'invalid-argument',
        `metric ${name}: label "${label}" must match ${LABEL_NAME.source}, not start with __, and not be one of ${[...RESERVED_LABELS].join(', ')}`,
      );
    }
    if (labels.has(label)) throw new ObservabilityError('invalid-argument', `metric ${name}: label "${label}" is declared twice`);
    labels.add(label);
  }
}

function validateBuckets(name: string, buckets: readonly number[]): void {
  const increasing = buckets.every((b, i) => Number.isFinite(b) && (i === 0 || b > (buckets[i - 1] ?? -Infinity)));
  if (buckets.length === 0 || !increasing) {
    throw new ObservabilityError('invalid-argument', `metric ${name}: buckets must be finite, strictly increasing numbers, got [${buckets.join(', ')}]`);
  }
}

// Label arguments arrive as `[] | [LabelSet]`; the SDK wants attributes or undefined.
type AnyLabels = [] | [LabelSet<string>];
const attrs = (labels: AnyLabels): Attributes | undefined => labels[0];

/**
 * The OpenTelemetry Prometheus serializer appends `_total` to every counter. OSM's counters
 * (osm_proxy_xds_request_count, osm_cert_issued_count, ...) are a contract with existing dashboards
 * and alerts, and the text format does not require the suffix, so a counter keeps the name it was
 * declared with: this renames the serializer's `<name>_total` series, HELP and TYPE lines back.
 */
export function keepDeclaredCounterNames(text: string, counters: ReadonlySet<string>): string {
  if (counters.size === 0) return text;
  // Names match METRIC_NAME (letters, digits, _), so they need no escaping in a pattern.
  const series = new RegExp(`^(# (?:HELP|TYPE) )?(${[...counters].join('|')})_total(?=[ {])`, 'gm');
  return text.replace(series, '$1$2');
}

/**
 * Creates the typed helpers over `meter`; names are checked and must be unique per Metrics.
 * `counterNames` lists the declared counters whose names lack `_total` (for keepDeclaredCounterNames).
 */
export function createMetrics(meter: Meter): { metrics: Metrics; counterNames: ReadonlySet<string> } {
  const seen = new Set<string>();
  const counterNames = new Set<string>();
  const declare = (name: string, options: MetricOptions<string>): void => {
    validate(name, options, seen);
    seen.add(name);
  };
  const metrics = {
    counter(name: string, options: MetricOptions<string>): Counter<string> {
      declare(name, options);
      if (!name.endsWith('_total')) counterNames.add(name);
      const c = meter.createCounter(name, { description: options.help });
      return {
        add: (value: number, ...labels: AnyLabels) => c.add(value, attrs(labels)),
        inc: (...labels: AnyLabels) => c.add(1, attrs(labels)),
      } as Counter<string>;
    },
    upDownCounter(name: string, options: MetricOptions<string>): UpDownCounter<string> {
      declare(name, options);
      const c = meter.createUpDownCounter(name, { description: options.help });
      return { add: (value: number, ...labels: AnyLabels) => c.add(value, attrs(labels)) } as UpDownCounter<string>;
    },
    gauge(name: string, options: MetricOptions<string>): Gauge<string> {
      declare(name, options);
      const g = meter.createGauge(name, { description: options.help });
      return { set: (value: number, ...labels: AnyLabels) => g.record(value, attrs(labels)) } as Gauge<string>;
    },
    histogram(name: string, options: HistogramOptions<string>): Histogram<string> {
      const buckets = options.buckets ?? DURATION_BUCKETS_SECONDS;
      validateBuckets(name, buckets);
      declare(name, options);
      const h = meter.createHistogram(name, { description: options.help, advice: { explicitBucketBoundaries: [...buckets] } });
      return {
        record: (value: number, ...labels: AnyLabels) => h.record(value, attrs(labels)),
        startTimer: () => {
          const start = performance.now();
          return (...labels: AnyLabels) => {
            const seconds = (performance.now() - start) / 1000;
            h.record(seconds, attrs(labels));
            return seconds;
          };
        },
      } as Histogram<string>;
    },
    observableGauge(name: string, options: MetricOptions<string>, callback: (observe: Observe<string>) => void): void {
      declare(name, options);
      const g = meter.createObservableGauge(name, { description: options.help });
      g.addCallback((result: ObservableResult) => {
        callback(((value: number, ...labels: AnyLabels) => result.observe(value, attrs(labels))) as Observe<string>);
      });
    },
    observableCounter(name: string, options: MetricOptions<string>, callback: (observe: Observe<string>) => void): void {
      declare(name, options);
      if (!name.endsWith('_total')) counterNames.add(name);
      const c = meter.createObservableCounter(name, { description: options.help });
      c.addCallback((result: ObservableResult) => {
        callback(((value: number, ...labels: AnyLabels) => result.observe(value, attrs(labels))) as Observe<string>);
      });
    },
  };
  return { metrics: metrics as Metrics, counterNames };
}

export interface VersionInfo {
  version: string;
  gitCommit: string;
  buildDate: string;
}

/** `osm_version_info{version, build_date, git_commit} 1`, as OSM exports it from every component. */
export function registerVersionInfo(metrics: Metrics, info: VersionInfo): void {
  metrics.observableGauge(
    'osm_version_info',
    { help: 'The version of the OSM control plane component (always 1)', labels: ['version', 'build_date', 'git_commit'] },
    (observe) => observe(1, { version: info.version, build_date: info.buildDate, git_commit: info.gitCommit }),
  );
}
