// The batch traces against a real OTLP receiver: spans, parents, times, attributes; pushes ending at
// the ACK, at a NACK (with its detail), superseded or unanswered; sampling above the per-batch bound.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CatalogBatch } from '@osm/mesh-catalog';
import { meshModel, type MeshModel, type Proxy } from '@osm/mesh-model';
import { createObservability, type Observability } from '@osm/observability';
import { FakeClock, startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '@osm/testing';
import type { AdsEvents } from '@osm/xds-server';
import type { Snapshot } from '@osm/xds-snapshot';
import { BatchTracing, MAX_EVENTS_PER_BATCH, mergeEvents, spread } from './tracing.ts';

const T0 = 1_780_000_000_000;
const proxy = (uuid: string): Proxy => ({ uuid, identity: { namespace: 'shop', name: 'web' }, namespace: 'shop', podName: `web-${uuid}`, services: [], prometheusScrape: false });
const batchOf = (model: MeshModel, affected: string[]): CatalogBatch => ({
  sequence: 2,
  model,
  previous: model,
  identities: [],
  affectedProxies: affected,
  allProxies: false,
  diff: { affectedProxies: affected, allProxies: false, changedServices: [], changedEndpoints: ['shop/web'], changedProxies: [], changedPolicies: [] },
  changes: 1,
  problems: [],
});
const snapshotOf = (uuid: string): Snapshot => ({ proxy: uuid }) as Snapshot;
const ms = (nanos: string): number => Number(BigInt(nanos) / 1_000_000n);

async function harness(max = 100): Promise<{ obs: Observability; receiver: OtlpReceiver; clock: FakeClock; tracing: BatchTracing; finish(): Promise<ReceivedSpan[]> }> {
  const receiver = await startOtlpReceiver();
  const obs = await createObservability({
    component: 'controller',
    version: { version: 'v0.0.0-test' },
    logLevel: 'silent',
    admin: { host: '127.0.0.1', port: 0 },
    tracing: { otlpEndpoint: receiver.endpoint },
    shutdown: { handleSignals: false },
    runtimeMetrics: false,
  });
  const clock = new FakeClock(T0);
  const tracing = new BatchTracing({ tracer: obs.tracer, clock, maxProxiesPerBatch: max, answerTimeoutMs: 30_000 });
  return {
    obs,
    receiver,
    clock,
    tracing,
    async finish() {
      await obs.close();
      await receiver.close();
      return receiver.spans;
    },
  };
}

/** A push that sends `types` from the snapshot, each with version `v1-<type>`. */
const pushing = (events: AdsEvents, p: Proxy, snapshot: Snapshot, types: ('clusters' | 'routes')[]) => (): void => {
  for (const type of types) events.response?.(p, type, true, snapshot, `v1-${type}`);
};

describe('batch traces', () => {
  it('one trace: the batch from its first event, the diff, a build per traced proxy, pushes ending at the ACK or NACK', async () => {
    const h = await harness();
    const [a, b, c] = [proxy('a'), proxy('b'), proxy('c')];
    const model = meshModel({ proxies: [a, b, c] });
    const events = h.tracing.events;
    h.tracing.kubeEvent({ kind: 'endpointslice', action: 'updated', object: { metadata: { namespace: 'shop', name: 'web-x1', resourceVersion: '42' } } });
    h.clock.jump(100);
    h.tracing.translating();
    h.clock.jump(5);
    const done = h.tracing.onBatch(batchOf(model, ['a', 'b', 'c']), ['a', 'b']);
    h.clock.jump(10);
    const [sa, sb] = [snapshotOf('a'), snapshotOf('b')];
    h.tracing.publish(sa, T0 + 107, pushing(events, a, sa, ['clusters', 'routes']));
    h.tracing.publish(sb, T0 + 110, pushing(events, b, sb, ['routes']));
    h.clock.jump(20);
    done();
    assert.equal(h.tracing.pendingPushes, 2);
    events.ack?.(a, 'clusters', 'v1-clusters');
    events.ack?.(a, 'routes', 'v0-old'); // the answer to an earlier response: not this push's
    h.clock.jump(3);
    events.ack?.(a, 'routes', 'v1-routes');
    events.nack?.(b, 'routes', 'v1-routes', 'route: unknown cluster shop/db|5432');
    assert.equal(h.tracing.pendingPushes, 0);
    const spans = await h.finish();

    assert.equal(new Set(spans.map((s) => s.traceId)).size, 1, 'one trace');
    const batch = spans.find((s) => s.name === 'catalog.batch') as ReceivedSpan;
    assert.equal(batch.parentSpanId, '');
    assert.equal(ms(batch.startTimeUnixNano), T0, 'starts at the first Kubernetes event');
    assert.equal(ms(batch.endTimeUnixNano), T0 + 135);
    assert.deepEqual(batch.attributes['osm.kube.events'], ['endpointslice shop/web-x1 updated rv=42']);
    assert.equal(batch.attributes['osm.batch.affected_proxies'], 3);
    assert.equal(batch.attributes['osm.batch.connected_affected_proxies'], 2);
    assert.equal(batch.attributes['osm.batch.traced_proxies'], 2);
    assert.equal(batch.resource['service.name'], 'osm-controller');
    const children = spans.filter((s) => s.parentSpanId === batch.spanId);
    assert.deepEqual(children.map((s) => `${s.name} ${String(s.attributes['osm.proxy.uuid'] ?? '')}`).sort(), ['model.diff ', 'snapshot.build a', 'snapshot.build b', 'xds.push a', 'xds.push b']);
    const diff = children.find((s) => s.name === 'model.diff') as ReceivedSpan;
    assert.deepEqual([ms(diff.startTimeUnixNano), ms(diff.endTimeUnixNano)], [T0 + 100, T0 + 105]);
    assert.equal(diff.attributes['osm.diff.changed_endpoints'], 1);
    const buildA = children.find((s) => s.name === 'snapshot.build' && s.attributes['osm.proxy.uuid'] === 'a') as ReceivedSpan;
    assert.deepEqual([ms(buildA.startTimeUnixNano), ms(buildA.endTimeUnixNano)], [T0 + 107, T0 + 115]);
    const pushA = children.find((s) => s.name === 'xds.push' && s.attributes['osm.proxy.uuid'] === 'a') as ReceivedSpan;
    assert.deepEqual([ms(pushA.startTimeUnixNano), ms(pushA.endTimeUnixNano)], [T0 + 115, T0 + 138], 'ends at the last ACK');
    assert.deepEqual(pushA.attributes['osm.xds.types'], ['CDS', 'RDS']);
    assert.equal(pushA.attributes['k8s.pod.name'], 'web-a');
    assert.equal(pushA.status.code ?? 0, 0);
    const pushB = children.find((s) => s.name === 'xds.push' && s.attributes['osm.proxy.uuid'] === 'b') as ReceivedSpan;
    assert.equal(pushB.status.code, 2, 'ERROR');
    assert.equal(pushB.status.message, 'proxy rejected RDS (NACK): route: unknown cluster shop/db|5432');
    assert.equal(pushB.attributes['osm.xds.nack.type'], 'RDS');
  });

  it('above the bound, spans for a spread sample of the proxies and counts of all', async () => {
    assert.deepEqual(spread(['a', 'b', 'c', 'd', 'e', 'f'], 3), ['a', 'c', 'e']);
    assert.deepEqual(spread(['a', 'b'], 3), ['a', 'b']);
    const h = await harness(2);
    const proxies = ['p1', 'p2', 'p3', 'p4', 'p5'].map(proxy);
    const done = h.tracing.onBatch(batchOf(meshModel({ proxies }), proxies.map((p) => p.uuid)), proxies.map((p) => p.uuid));
    for (const p of proxies) {
      const s = snapshotOf(p.uuid);
      h.tracing.publish(s, h.clock.now(), () => undefined); // nothing to send: the proxy holds it already
    }
    done();
    const spans = await h.finish();
    const batch = spans.find((s) => s.name === 'catalog.batch') as ReceivedSpan;
    assert.equal(batch.attributes['osm.batch.connected_affected_proxies'], 5);
    assert.equal(batch.attributes['osm.batch.traced_proxies'], 2);
    assert.deepEqual(spans.filter((s) => s.name === 'snapshot.build').map((s) => s.attributes['osm.proxy.uuid']).sort(), ['p1', 'p3']);
    const pushes = spans.filter((s) => s.name === 'xds.push');
    assert.deepEqual(pushes.map((s) => s.attributes['osm.xds.responses']), [0, 0], 'ended at once: nothing sent');
  });

  it('ends a push superseded by the next, one whose proxy left, and one never answered', async () => {
    const h = await harness();
    const [a, b, c] = [proxy('a'), proxy('b'), proxy('c')];
    const model = meshModel({ proxies: [a, b, c] });
    const events = h.tracing.events;
    const first = h.tracing.onBatch(batchOf(model, ['a', 'b', 'c']), ['a', 'b', 'c']);
    for (const p of [a, b, c]) {
      const s = snapshotOf(p.uuid);
      h.tracing.publish(s, h.clock.now(), pushing(events, p, s, ['clusters']));
    }
    first();
    const second = h.tracing.onBatch(batchOf(model, ['a']), ['a']);
    const s2 = snapshotOf('a');
    h.tracing.publish(s2, h.clock.now(), pushing(events, a, s2, ['clusters']));
    second();
    events.ack?.(a, 'clusters', 'v1-clusters');
    events.proxyDisconnected?.(b);
    await h.clock.advance(30_000);
    assert.equal(h.tracing.pendingPushes, 0);
    const spans = await h.finish();
    const pushes = spans.filter((s) => s.name === 'xds.push');
    const [firstBatch, secondBatch] = spans.filter((s) => s.name === 'catalog.batch').sort((x, y) => Number(x.attributes['osm.batch.traced_proxies']) - Number(y.attributes['osm.batch.traced_proxies'])).reverse() as [ReceivedSpan, ReceivedSpan];
    const pushOf = (uuid: string, batch: ReceivedSpan): ReceivedSpan => pushes.find((s) => s.attributes['osm.proxy.uuid'] === uuid && s.parentSpanId === batch.spanId) as ReceivedSpan;
    assert.equal(pushOf('a', firstBatch).attributes['osm.xds.superseded'], true);
    assert.equal(pushOf('a', firstBatch).status.code ?? 0, 0);
    assert.equal(pushOf('a', secondBatch).status.code ?? 0, 0, 'ACKed');
    assert.equal(pushOf('b', firstBatch).status.message, 'the proxy disconnected before answering');
    assert.equal(pushOf('c', firstBatch).status.message, 'no answer from the proxy within 30 s');
  });

  it('a response from an untraced rebuild of the proxy supersedes the traced push', async () => {
    const h = await harness();
    const a = proxy('a');
    const events = h.tracing.events;
    const traced = snapshotOf('a');
    const done = h.tracing.onBatch(batchOf(meshModel({ proxies: [a] }), ['a']), ['a']);
    h.tracing.publish(traced, h.clock.now(), pushing(events, a, traced, ['clusters']));
    done();
    const rebuilt = snapshotOf('a');
    h.tracing.publish(rebuilt, h.clock.now(), pushing(events, a, rebuilt, ['clusters'])); // not queued by a batch: no spans of its own
    assert.equal(h.tracing.pendingPushes, 0);
    const pushes = (await h.finish()).filter((s) => s.name === 'xds.push');
    assert.equal(pushes.length, 1);
    assert.equal(pushes[0]?.attributes['osm.xds.superseded'], true);
    assert.equal(pushes[0]?.status.code ?? 0, 0);
  });

  it('names at most MAX_EVENTS_PER_BATCH events and counts them all', async () => {
    const h = await harness();
    for (let i = 0; i < MAX_EVENTS_PER_BATCH + 5; i++) h.tracing.kubeEvent({ kind: 'pod', action: 'added', object: { metadata: { namespace: 'shop', name: `web-${i}`, resourceVersion: String(i) } } });
    h.tracing.onBatch(batchOf(meshModel({}), []), [])();
    const batch = (await h.finish()).find((s) => s.name === 'catalog.batch');
    assert.equal((batch?.attributes['osm.kube.events'] as string[]).length, MAX_EVENTS_PER_BATCH);
    assert.equal(batch?.attributes['osm.kube.event_count'], MAX_EVENTS_PER_BATCH + 5);
  });
});

describe('ADS hooks', () => {
  it('with tracing off, the ADS service gets the metrics hooks themselves, nothing added', () => {
    const metrics: AdsEvents = { ack: () => undefined, response: () => undefined };
    assert.equal(mergeEvents(metrics, undefined), metrics);
  });

  it('merged, each set hears every event in order', () => {
    const heard: string[] = [];
    const merged = mergeEvents({ ack: (p) => heard.push(`metrics ${p.uuid}`), request: () => heard.push('request') }, { ack: (p) => heard.push(`tracing ${p.uuid}`) });
    merged.ack?.(proxy('a'), 'clusters', 'v1');
    merged.request?.(proxy('a'), 'clusters');
    assert.deepEqual(heard, ['metrics a', 'tracing a', 'request']);
  });
});
