import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DataPointType, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import type { Histogram as SdkHistogram, MetricData } from '@opentelemetry/sdk-metrics';
import { ObservabilityError } from './errors.ts';
import { DURATION_BUCKETS_SECONDS, createMetrics, keepDeclaredCounterNames, registerVersionInfo } from './metrics.ts';
import type { Metrics } from './metrics.ts';

/** A reader that collects on demand, as the Prometheus exporter does on each scrape. */
class PullReader extends MetricReader {
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

function setup(): { metrics: Metrics; collect: () => Promise<Map<string, MetricData>> } {
  const reader = new PullReader();
  const provider = new MeterProvider({ readers: [reader] });
  const { metrics } = createMetrics(provider.getMeter('test'));
  return {
    metrics,
    collect: async () => {
      const { resourceMetrics } = await reader.collect();
      return new Map(resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).map((m) => [m.descriptor.name, m]));
    },
  };
}

const points = (data: MetricData | undefined): { attributes: Record<string, unknown>; value: unknown }[] =>
  (data?.dataPoints ?? []).map((p) => ({ attributes: p.attributes, value: p.value }));

describe('metric helpers', () => {
  it('records counters, up-down counters and gauges with their labels', async () => {
    const { metrics, collect } = setup();
    const requests = metrics.counter('osm_proxy_xds_request_count', { help: 'xDS requests', labels: ['type', 'proxy_kind'] });
    requests.inc({ type: 'CDS', proxy_kind: 'envoy' });
    requests.add(4, { type: 'LDS', proxy_kind: 'envoy' });
    const connected = metrics.upDownCounter('osm_proxy_connect_count', { help: 'connected proxies' });
    connected.add(5);
    connected.add(-2);
    const certs = metrics.gauge('osm_cert_count', { help: 'certificates in cache', labels: ['kind'] });
    certs.set(10, { kind: 'service' });
    certs.set(7, { kind: 'service' });

    const data = await collect();
    assert.equal(data.get('osm_proxy_xds_request_count')?.dataPointType, DataPointType.SUM);
    assert.deepEqual(points(data.get('osm_proxy_xds_request_count')), [
      { attributes: { type: 'CDS', proxy_kind: 'envoy' }, value: 1 },
      { attributes: { type: 'LDS', proxy_kind: 'envoy' }, value: 4 },
    ]);
    assert.deepEqual(points(data.get('osm_proxy_connect_count')), [{ attributes: {}, value: 3 }]);
    assert.deepEqual(points(data.get('osm_cert_count')), [{ attributes: { kind: 'service' }, value: 7 }]);
    assert.equal(data.get('osm_cert_count')?.descriptor.description, 'certificates in cache');
  });

  it('keeps one histogram series per label set, with duration buckets from 1 ms to 30 s by default', async () => {
    const { metrics, collect } = setup();
    const update = metrics.histogram('osm_proxy_config_update_time', { help: 'config update time', labels: ['resource_type', 'success'] });
    update.record(0.0008, { resource_type: 'CDS', success: true });
    update.record(0.3, { resource_type: 'CDS', success: true });
    update.record(25, { resource_type: 'EDS', success: false });
    const data = (await collect()).get('osm_proxy_config_update_time');
    assert.equal(data?.dataPointType, DataPointType.HISTOGRAM);
    const series = (data?.dataPoints ?? []).map((p) => ({ attributes: p.attributes, value: p.value as SdkHistogram }));
    assert.equal(series.length, 2);
    const cds = series.find((s) => s.attributes['resource_type'] === 'CDS');
    const eds = series.find((s) => s.attributes['resource_type'] === 'EDS');
    assert.deepEqual(cds?.attributes, { resource_type: 'CDS', success: true });
    assert.deepEqual(cds?.value.buckets.boundaries, [...DURATION_BUCKETS_SECONDS]);
    assert.equal(cds?.value.count, 2);
    // Counts per bucket (not cumulative): 0.8 ms in the first, 300 ms in (0.25, 0.5].
    const counts = cds?.value.buckets.counts ?? [];
    assert.equal(counts[0], 1);
    assert.equal(counts[DURATION_BUCKETS_SECONDS.indexOf(0.5)], 1);
    assert.equal(eds?.value.count, 1);
    assert.equal(eds?.value.buckets.counts[DURATION_BUCKETS_SECONDS.indexOf(30)], 1);
    assert.equal(DURATION_BUCKETS_SECONDS[0], 0.001);
    assert.equal(DURATION_BUCKETS_SECONDS.at(-1), 30);
  });

  it('takes custom buckets and times with startTimer', async () => {
    const { metrics, collect } = setup();
    const issued = metrics.histogram('osm_cert_issued_time', { help: 'issuance time', buckets: [0.01, 0.1, 1] });
    const done = issued.startTimer();
    const seconds = done();
    assert.ok(seconds >= 0);
    const data = (await collect()).get('osm_cert_issued_time');
    const value = data?.dataPoints[0]?.value as SdkHistogram;
    assert.deepEqual(value.buckets.boundaries, [0.01, 0.1, 1]);
    assert.equal(value.count, 1);
    assert.equal(value.sum, seconds);
  });

  it('reads observable gauges at collection time', async () => {
    const { metrics, collect } = setup();
    let queue = 3;
    metrics.observableGauge('osm_queue_depth', { help: 'queued', labels: ['queue'] }, (observe) => observe(queue, { queue: 'recompute' }));
    assert.deepEqual(points((await collect()).get('osm_queue_depth')), [{ attributes: { queue: 'recompute' }, value: 3 }]);
    queue = 9;
    assert.deepEqual(points((await collect()).get('osm_queue_depth')), [{ attributes: { queue: 'recompute' }, value: 9 }]);
  });

  it('reads observable counters at collection time, as cumulative monotonic sums kept under the declared name', async () => {
    const reader = new PullReader();
    const { metrics, counterNames } = createMetrics(new MeterProvider({ readers: [reader] }).getMeter('test'));
    let total = 2;
    metrics.observableCounter('osm_proxy_xds_request_count', { help: 'requests', labels: ['type'] }, (observe) => observe(total, { type: 'CDS' }));
    const collect = async (): Promise<MetricData | undefined> => (await reader.collect()).resourceMetrics.scopeMetrics[0]?.metrics[0];
    const first = await collect();
    assert.equal(first?.dataPointType, DataPointType.SUM);
    assert.equal(first?.isMonotonic, true);
    assert.deepEqual(points(first), [{ attributes: { type: 'CDS' }, value: 2 }]);
    total = 7;
    assert.deepEqual(points(await collect()), [{ attributes: { type: 'CDS' }, value: 7 }]);
    assert.deepEqual([...counterNames], ['osm_proxy_xds_request_count']);
  });

  it('exports osm_version_info = 1 with version, build_date and git_commit', async () => {
    const { metrics, collect } = setup();
    registerVersionInfo(metrics, { version: 'v1.3.0', gitCommit: 'deadbeef', buildDate: '2026-11-26' });
    assert.deepEqual(points((await collect()).get('osm_version_info')), [
      { attributes: { version: 'v1.3.0', build_date: '2026-11-26', git_commit: 'deadbeef' }, value: 1 },
    ]);
  });

  it('rejects bad declarations with a message naming the metric and the rule', () => {
    const { metrics } = setup();
    metrics.counter('osm_taken', { help: 'x' });
    const cases: [string, () => unknown, ObservabilityError['code'], RegExp][] = [
      ['name with a dash', () => metrics.counter('osm-bad', { help: 'x' }), 'invalid-argument', /metric name: "osm-bad" must match/],
      ['name starting with a digit', () => metrics.gauge('1osm', { help: 'x' }), 'invalid-argument', /metric name: "1osm"/],
      ['duplicate name', () => metrics.gauge('osm_taken', { help: 'x' }), 'already-exists', /"osm_taken" is already declared/],
      ['empty help', () => metrics.counter('osm_a', { help: ' ' }), 'invalid-argument', /osm_a: help must not be empty/],
      ['reserved label', () => metrics.histogram('osm_b', { help: 'x', labels: ['le'] }), 'invalid-argument', /label "le" must match .* not be one of/],
      ['label with a dot', () => metrics.counter('osm_c', { help: 'x', labels: ['a.b'] }), 'invalid-argument', /label "a.b"/],
      ['label twice', () => metrics.counter('osm_d', { help: 'x', labels: ['a', 'a'] }), 'invalid-argument', /label "a" is declared twice/],
      ['unsorted buckets', () => metrics.histogram('osm_e', { help: 'x', buckets: [1, 0.5] }), 'invalid-argument', /osm_e: buckets must be .* strictly increasing/],
      ['empty buckets', () => metrics.histogram('osm_f', { help: 'x', buckets: [] }), 'invalid-argument', /osm_f: buckets/],
      ['infinite bucket', () => metrics.histogram('osm_g', { help: 'x', buckets: [1, Infinity] }), 'invalid-argument', /osm_g: buckets must be finite/],
    ];
    for (const [name, declare, code, message] of cases) {
      assert.throws(declare, (error: unknown) => error instanceof ObservabilityError && error.code === code && message.test(error.message), name);
    }
    // A rejected declaration changes nothing: the name is still free.
    metrics.counter('osm_a', { help: 'now valid' });
  });

  it('checks label names at compile time', () => {
    const { metrics } = setup();
    const c = metrics.counter('osm_typed', { help: 'x', labels: ['type'] });
    const unlabeled = metrics.counter('osm_untyped', { help: 'x' });
    // Each line below is a type error; typecheck fails if one of them stops being one.
    const typeErrors = (): void => {
      // @ts-expect-error missing labels
      c.inc();
      // @ts-expect-error unknown label
      c.inc({ type: 'CDS', other: 'x' });
      // @ts-expect-error wrong label name
      c.add(1, { kind: 'CDS' });
      // @ts-expect-error labels on a metric without labels
      unlabeled.inc({ type: 'CDS' });
    };
    assert.equal(typeof typeErrors, 'function');
    c.inc({ type: 'CDS' });
    unlabeled.inc();
  });
});

describe('keepDeclaredCounterNames', () => {
  it('renames only the declared counters back, in series, HELP and TYPE lines', () => {
    const text = [
      '# HELP osm_cert_issued_count_total Certificates issued',
      '# TYPE osm_cert_issued_count_total counter',
      'osm_cert_issued_count_total 3',
      '# HELP osm_k8s_api_event_count_total Events',
      '# TYPE osm_k8s_api_event_count_total counter',
      'osm_k8s_api_event_count_total{type="add"} 1',
      '# TYPE other_count_total counter',
      'other_count_total 9',
      'osm_cert_issued_count_total_more 1',
      '',
    ].join('\n');
    const kept = keepDeclaredCounterNames(text, new Set(['osm_cert_issued_count', 'osm_k8s_api_event_count', 'osm_k8s_api']));
    assert.equal(
      kept,
      [
        '# HELP osm_cert_issued_count Certificates issued',
        '# TYPE osm_cert_issued_count counter',
        'osm_cert_issued_count 3',
        '# HELP osm_k8s_api_event_count Events',
        '# TYPE osm_k8s_api_event_count counter',
        'osm_k8s_api_event_count{type="add"} 1',
        '# TYPE other_count_total counter',
        'other_count_total 9',
        'osm_cert_issued_count_total_more 1',
        '',
      ].join('\n'),
    );
  });
});
