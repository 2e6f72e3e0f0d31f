// Node process and runtime metrics under the names Prometheus users know (prom-client's defaults):
// CPU, memory, heap, event-loop delay, GC pauses, active handles. Read at scrape time, except GC
// pauses, which a PerformanceObserver records as they happen.
import type { BatchObservableResult, Meter } from '@opentelemetry/api';
import { PerformanceObserver, constants, monitorEventLoopDelay } from 'node:perf_hooks';
import type { PerformanceEntry } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import type { Metrics } from './metrics.ts';

const GC_KINDS: Readonly<Record<number, string>> = {
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

export interface RuntimeMetrics {
  /** Stops the event-loop monitor and the GC observer. */
  stop(): void;
}

/** Registers the process/runtime metrics on `metrics` (and `meter`, for the event-loop batch). */
export function registerRuntimeMetrics(metrics: Metrics, meter: Meter): RuntimeMetrics {
  const startTimeSeconds = Math.round((Date.now() - process.uptime() * 1000) / 1000);

  metrics.observableGauge('process_start_time_seconds', { help: 'Start time of the process since the Unix epoch, in seconds' }, (observe) =>
    observe(startTimeSeconds),
  );
  // Cumulative CPU seconds, as observable counters (their names already end in _total).
  const cpuUser = meter.createObservableCounter('process_cpu_user_seconds_total', { description: 'User CPU time spent by the process, in seconds' });
  const cpuSystem = meter.createObservableCounter('process_cpu_system_seconds_total', { description: 'System CPU time spent by the process, in seconds' });
  const cpuCallback = (result: BatchObservableResult): void => {
    const usage = process.cpuUsage();
    result.observe(cpuUser, usage.user / 1e6);
    result.observe(cpuSystem, usage.system / 1e6);
  };
  meter.addBatchObservableCallback(cpuCallback, [cpuUser, cpuSystem]);
  metrics.observableGauge('process_resident_memory_bytes', { help: 'Resident memory size, in bytes' }, (observe) =>
    observe(process.memoryUsage.rss()),
  );
  metrics.observableGauge('nodejs_heap_size_total_bytes', { help: 'V8 heap size, in bytes' }, (observe) =>
    observe(process.memoryUsage().heapTotal),
  );
  metrics.observableGauge('nodejs_heap_size_used_bytes', { help: 'V8 heap used, in bytes' }, (observe) =>
    observe(process.memoryUsage().heapUsed),
  );
  metrics.observableGauge('nodejs_external_memory_bytes', { help: 'Memory of C++ objects bound to JavaScript objects, in bytes' }, (observe) =>
    observe(process.memoryUsage().external),
  );
  metrics.observableGauge('nodejs_heap_space_size_used_bytes', { help: 'V8 heap space used, in bytes', labels: ['space'] }, (observe) => {
    for (const space of getHeapSpaceStatistics()) observe(space.space_used_size, { space: space.space_name });
  });
  metrics.observableGauge('nodejs_active_resources', { help: 'Active libuv handles and requests keeping the event loop alive, by type', labels: ['type'] }, (observe) => {
    const counts = new Map<string, number>();
    for (const type of process.getActiveResourcesInfo()) counts.set(type, (counts.get(type) ?? 0) + 1);
    for (const [type, count] of counts) observe(count, { type });
  });

  // Event-loop delay since the previous scrape: the histogram is reset after each read. Node records
  // the interval between its sampling timer's runs, so the sampling resolution is subtracted.
  const resolutionMs = 10;
  const loop = monitorEventLoopDelay({ resolution: resolutionMs });
  loop.enable();
  const loopGauges = {
    min: meter.createObservableGauge('nodejs_eventloop_delay_min_seconds', { description: 'Minimum event-loop delay since the last scrape, in seconds' }),
    mean: meter.createObservableGauge('nodejs_eventloop_delay_mean_seconds', { description: 'Mean event-loop delay since the last scrape, in seconds' }),
    p50: meter.createObservableGauge('nodejs_eventloop_delay_p50_seconds', { description: 'Median event-loop delay since the last scrape, in seconds' }),
    p99: meter.createObservableGauge('nodejs_eventloop_delay_p99_seconds', { description: '99th percentile event-loop delay since the last scrape, in seconds' }),
    max: meter.createObservableGauge('nodejs_eventloop_delay_max_seconds', { description: 'Maximum event-loop delay since the last scrape, in seconds' }),
  };
  const loopCallback = (result: BatchObservableResult): void => {
    if (loop.count === 0) return;
    const s = (ns: number): number => Math.max(0, ns / 1e9 - resolutionMs / 1000);
    result.observe(loopGauges.min, s(loop.min));
    result.observe(loopGauges.mean, s(loop.mean));
    result.observe(loopGauges.p50, s(loop.percentile(50)));
    result.observe(loopGauges.p99, s(loop.percentile(99)));
    result.observe(loopGauges.max, s(loop.max));
    loop.reset();
  };
  meter.addBatchObservableCallback(loopCallback, Object.values(loopGauges));

  const gc = metrics.histogram('nodejs_gc_duration_seconds', {
    help: 'Garbage collection pauses, by kind, in seconds',
    labels: ['kind'],
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
  });
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries() as (PerformanceEntry & { detail?: { kind?: number } })[]) {
      gc.record(entry.duration / 1000, { kind: GC_KINDS[entry.detail?.kind ?? -1] ?? 'other' });
    }
  });
  observer.observe({ entryTypes: ['gc'] });

  return {
    stop(): void {
      observer.disconnect();
      loop.disable();
      meter.removeBatchObservableCallback(loopCallback, Object.values(loopGauges));
      meter.removeBatchObservableCallback(cpuCallback, [cpuUser, cpuSystem]);
    },
  };
}
