import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Proxy } from '@osm/mesh-model';
import type { Histogram, Metrics } from '@osm/observability';
import { TYPE_URLS, type Snapshot } from '@osm/xds-snapshot';
import { controllerMetrics } from './metrics.ts';

const proxy: Proxy = { uuid: 'u-1', identity: { namespace: 'shop', name: 'web' }, namespace: 'shop', podName: 'web-1', services: [], prometheusScrape: false };
const snapshot = { proxy: 'u-1' } as Snapshot;

/** Metrics that keep the config update time's observations (seconds, labels); the rest is ignored. */
function recording(): { metrics: Metrics; updateTimes: { seconds: number; resource_type: string }[] } {
  const updateTimes: { seconds: number; resource_type: string }[] = [];
  const ignored = { add: () => undefined, inc: () => undefined, set: () => undefined };
  const metrics = {
    counter: () => ignored,
    upDownCounter: () => ignored,
    gauge: () => ignored,
    observableGauge: () => undefined,
    observableCounter: () => undefined,
    histogram: (name: string): Histogram<string> => ({
      record: (seconds: number, ...labels: unknown[]) => {
        if (name === 'osm_proxy_config_update_time') updateTimes.push({ seconds, resource_type: String((labels[0] as Record<string, string>)['resource_type']) });
      },
      startTimer: () => () => 0,
    }),
  } as unknown as Metrics;
  return { metrics, updateTimes };
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
