import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Proxy } from '@osm/mesh-model';
import type { Histogram, HistogramOptions, Metrics } from '@osm/observability';
import { TYPE_URLS, type Snapshot } from '@osm/xds-snapshot';
import { controllerMetrics } from './metrics.ts';

const proxy: Proxy = { uuid: 'u-1', identity: { namespace: 'shop', name: 'web' }, namespace: 'shop', podName: 'web-1', services: [], prometheusScrape: false };
const snapshot = { proxy: 'u-1' } as Snapshot;

/** Metrics that keep the config update time's observations (seconds, labels), each histogram's buckets and each observable gauge's callback; the rest is ignored. */
function recording(): { metrics: Metrics; updateTimes: { seconds: number; resource_type: string }[]; buckets: Map<string, readonly number[] | undefined>; gauges: Map<string, () => number[]> } {
  const updateTimes: { seconds: number; resource_type: string }[] = [];
  const buckets = new Map<string, readonly number[] | undefined>();
  const gauges = new Map<string, () => number[]>();
  const ignored = { add: () => undefined, inc: () => undefined, set: () => undefined };
  const metrics = {
    counter: () => ignored,
    upDownCounter: () => ignored,
    gauge: () => ignored,
    observableGauge: (name: string, _options: unknown, callback: (observe: (value: number) => void) => void) => {
      gauges.set(name, () => {
        const values: number[] = [];
        callback((value) => values.push(value));
        return values;
      });
    },
    observableCounter: () => undefined,
    histogram: (name: string, options: HistogramOptions<string>): Histogram<string> => {
      buckets.set(name, options.buckets);
      return {
        record: (seconds: number, ...labels: unknown[]) => {
          if (name === 'osm_proxy_config_update_time') updateTimes.push({ seconds, resource_type: String((labels[0] as Record<string, string>)['resource_type']) });
        },
        startTimer: () => () => 0,
      };
    },
  } as unknown as Metrics;
  return { metrics, updateTimes, buckets, gauges };
}

describe('osm_proxy_config_update_time', () => {
  it('times a response to a request from its arrival, and a pushed one from the start of its build', () => {
    let now = 1_000;
    const { metrics, updateTimes } = recording();
    const m = controllerMetrics(metrics, { now: () => now });

    // A first request answered from the config the proxy already has (as OSM observes each response it generates).
    m.ads.request?.(proxy, 'clusters');
    now += 7;
    m.ads.response?.(proxy, 'clusters', true, snapshot, 'v1');
    // The ACK opens a watch that a later push answers: timed from that build's start, not from the ACK.
    m.ads.request?.(proxy, 'clusters');
    now += 500;
    const buildStart = now;
    now += 20;
    m.publish(snapshot, buildStart, () => m.ads.response?.(proxy, 'clusters', true, snapshot, 'v2'));
    // A response nobody asked for outside a push (none exists today) is not given an invented time.
    m.ads.response?.(proxy, 'listeners', true, snapshot, 'v1');

    assert.deepEqual(updateTimes, [
      { seconds: 0.007, resource_type: TYPE_URLS.clusters },
      { seconds: 0.02, resource_type: TYPE_URLS.clusters },
    ]);
  });

  it('answers each request once: a second response to it is not timed from the old arrival', () => {
    let now = 0;
    const { metrics, updateTimes } = recording();
    const m = controllerMetrics(metrics, { now: () => now });
    m.ads.request?.(proxy, 'routes');
    now += 3;
    m.ads.response?.(proxy, 'routes', true, snapshot, 'v1');
    now += 10_000;
    m.ads.response?.(proxy, 'routes', true, snapshot, 'v1');
    assert.deepEqual(updateTimes.map((u) => u.seconds), [0.003]);
  });
});

describe('controller metrics as OSM declares them', () => {
  it("osm_proxy_config_update_time has OSM's buckets (pkg/metricsstore/metricsstore.go), not the library's default", () => {
    const { metrics, buckets } = recording();
    controllerMetrics(metrics, { now: () => 0 });
    assert.deepEqual(buckets.get('osm_proxy_config_update_time'), [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 90]);
  });

  it('osm_proxies_waiting_for_pod reads the count at each scrape', () => {
    const { metrics, gauges } = recording();
    const m = controllerMetrics(metrics, { now: () => 0 });
    let waiting = 0;
    m.observeWaitingForPod(() => waiting);
    const read = gauges.get('osm_proxies_waiting_for_pod');
    assert.ok(read);
    assert.deepEqual(read(), [0]);
    waiting = 3;
    assert.deepEqual(read(), [3]);
  });
});
