// The incremental protocol over a fake stream: only what differs goes out, per resource.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TYPE_URLS, type ResourceType, type Snapshot } from '@osm/xds-snapshot';
import { bookSnapshot, deltaRequest, FakeStream, peerOf, proxyA, settle, testService, type DeltaHandle, type DeltaResponse } from '../test/fakes.ts';
import type { AdsService } from './service.ts';
import { SHORT_NAMES } from './types.ts';

const ALL: readonly ResourceType[] = ['clusters', 'endpoints', 'listeners', 'routes', 'secrets'];
const typeOf = (r: DeltaResponse): ResourceType => ALL.find((t) => TYPE_URLS[t] === r.typeUrl) as ResourceType;
const short = (r: DeltaResponse): string => SHORT_NAMES[typeOf(r)];
const names = (r: DeltaResponse): string[] => r.resources.map((x) => x.name).sort();

async function open(service: AdsService, snapshot: Snapshot, initial: Partial<Record<ResourceType, Record<string, string>>> = {}): Promise<{ stream: FakeStream; session: DeltaHandle }> {
  const stream = new FakeStream();
  const session = service.openDelta(stream, peerOf(proxyA));
  session.receive(deltaRequest('clusters', { initialResourceVersions: initial.clusters ?? {} }));
  await settle();
  service.setSnapshot(snapshot);
  for (const type of ALL.slice(1)) {
    session.receive(deltaRequest(type, { initialResourceVersions: initial[type] ?? {}, resourceNamesSubscribe: type === 'listeners' ? [] : [...snapshot.types[type].resources.keys()] }));
  }
  return { stream, session };
}

const ackAll = (session: DeltaHandle, responses: DeltaResponse[]): void => {
  for (const r of responses) session.receive(deltaRequest(typeOf(r), { responseNonce: r.nonce }));
};

const versionsOf = (snapshot: Snapshot, type: ResourceType): Record<string, string> => Object.fromEntries([...snapshot.types[type].resources.values()].map((r) => [r.name, r.version]));

describe('delta xDS', () => {
  it('answers a fresh stream with every resource, named and versioned, and the replica id', async () => {
    const { service } = testService();
    const snapshot = bookSnapshot(proxyA);
    const { stream } = await open(service, snapshot);
    const first = stream.takeDeltas();
    assert.deepEqual(first.map(short), ['CDS', 'EDS', 'LDS', 'RDS', 'SDS']);
    for (const r of first) {
      const type = typeOf(r);
      assert.deepEqual(names(r), [...snapshot.types[type].resources.keys()].sort());
      assert.equal(r.systemVersionInfo, snapshot.types[type].version);
      assert.equal(r.controlPlane?.identifier, 'replica-1');
      for (const x of r.resources) assert.equal(x.version, snapshot.types[type].resources.get(x.name)?.version);
    }
  });

  it('pushes only the resources that changed', async () => {
    const { service } = testService();
    const { stream, session } = await open(service, bookSnapshot(proxyA));
    ackAll(session, stream.takeDeltas());
    service.setSnapshot(bookSnapshot(proxyA, { endpoints: ['shop/db|5432=moved', 'shop/cache|6379'] }));
    const [r, ...rest] = stream.takeDeltas();
    assert.equal(rest.length, 0);
    assert.equal(r && short(r), 'EDS');
    assert.deepEqual(r && names(r), ['shop/db|5432']);
  });

  it('sends removals after the updates of the other types', async () => {
    const { service } = testService();
    const { stream, session } = await open(service, bookSnapshot(proxyA));
    ackAll(session, stream.takeDeltas());
    service.setSnapshot(bookSnapshot(proxyA, { clusters: ['shop/db|5432=v2'], routes: ['rds-inbound.8080=v2'] }));
    const pushed = stream.takeDeltas();
    assert.deepEqual(
      pushed.map((r) => `${short(r)} +${names(r).join(',')} -${r.removedResources.join(',')}`),
      ['CDS +shop/db|5432 -', 'RDS +rds-inbound.8080 -', 'CDS + -shop/cache|6379'],
    );
    assert.equal(pushed[0]?.systemVersionInfo, '', 'the proxy holds no complete version until the removal');
  });

  it('sends nothing to a reconnecting proxy that holds every current version', async () => {
    const { service } = testService();
    const snapshot = bookSnapshot(proxyA);
    const initial = Object.fromEntries(ALL.map((t) => [t, versionsOf(snapshot, t)]));
    const { stream } = await open(service, snapshot, initial);
    assert.equal(stream.sent.length, 0);
  });

  it('sends a reconnecting proxy what changed and what it must drop', async () => {
    const { service } = testService();
    const snapshot = bookSnapshot(proxyA);
    const initial = Object.fromEntries(ALL.map((t) => [t, versionsOf(snapshot, t)]));
    initial['clusters'] = { ...initial['clusters'], 'shop/db|5432': 'old', 'gone/x|1': 'v' };
    const { stream } = await open(service, snapshot, initial);
    const pushed = stream.takeDeltas();
    assert.deepEqual(pushed.map((r) => `${short(r)} +${names(r).join(',')} -${r.removedResources.join(',')}`), ['CDS +shop/db|5432 -gone/x|1']);
  });

  it('reports the version of each response, which is what the ACK of it carries', async () => {
    const { service, events } = testService();
    const { stream, session } = await open(service, bookSnapshot(proxyA));
    ackAll(session, stream.takeDeltas());
    events.length = 0;
    const next = bookSnapshot(proxyA, { routes: ['rds-inbound.8080=v2'] });
    service.setSnapshot(next);
    ackAll(session, stream.takeDeltas());
    assert.deepEqual(events, [`response web-1 routes ${next.types.routes.version} ok`, `ack web-1 routes ${next.types.routes.version}`]);
  });

  it('does not send a NACKed resource version again until it changes', async () => {
    const { service, events } = testService();
    const { stream, session } = await open(service, bookSnapshot(proxyA));
    ackAll(session, stream.takeDeltas());
    service.setSnapshot(bookSnapshot(proxyA, { routes: ['rds-inbound.8080=bad'] }));
    const [bad] = stream.takeDeltas() as [DeltaResponse];
    session.receive(deltaRequest('routes', { responseNonce: bad.nonce, errorDetail: { code: 3, message: 'bad route', details: [] } }));
    service.setSnapshot(bookSnapshot(proxyA, { routes: ['rds-inbound.8080=bad'] }));
    session.receive(deltaRequest('routes', {}));
    assert.equal(stream.sent.length, 0);
    assert.ok(events.some((e) => e.startsWith('nack web-1 routes') && e.endsWith('bad route')));
    const status = service.streamsOf(proxyA.uuid)[0]?.types.find((t) => t.type === 'RDS');
    assert.equal(status?.nacks, 1);
    service.setSnapshot(bookSnapshot(proxyA, { routes: ['rds-inbound.8080=good'] }));
    assert.deepEqual(stream.takeDeltas().map(short), ['RDS']);
  });

  it('follows subscribe and unsubscribe of named resources', async () => {
    const { service } = testService();
    const stream = new FakeStream();
    const session = service.openDelta(stream, peerOf(proxyA));
    session.receive(deltaRequest('endpoints', { resourceNamesSubscribe: ['shop/db|5432'] }));
    await settle();
    service.setSnapshot(bookSnapshot(proxyA));
    const [first] = stream.takeDeltas() as [DeltaResponse];
    assert.deepEqual(names(first), ['shop/db|5432']);
    session.receive(deltaRequest('endpoints', { responseNonce: first.nonce, resourceNamesSubscribe: ['shop/cache|6379'], resourceNamesUnsubscribe: ['shop/db|5432'] }));
    const [second] = stream.takeDeltas() as [DeltaResponse];
    assert.deepEqual(names(second), ['shop/cache|6379']);
    assert.deepEqual(second.removedResources, [], 'an unsubscribed name is not sent as removed');
    service.setSnapshot(bookSnapshot(proxyA, { endpoints: ['shop/db|5432=moved', 'shop/cache|6379'] }));
    assert.equal(stream.sent.length, 0, 'a change to an unsubscribed resource is not sent');
  });

  it('ignores an answer to an unknown nonce but applies its subscription', async () => {
    const { service } = testService();
    const { stream, session } = await open(service, bookSnapshot(proxyA));
    ackAll(session, stream.takeDeltas());
    session.receive(deltaRequest('endpoints', { responseNonce: 'no-such-nonce', resourceNamesUnsubscribe: ['shop/cache|6379'] }));
    assert.equal(stream.sent.length, 0);
    service.setSnapshot(bookSnapshot(proxyA, { endpoints: ['shop/db|5432', 'shop/cache|6379=moved'] }));
    assert.equal(stream.sent.length, 0, 'unsubscribed');
  });

  it('closes a stream whose subscription exceeds the limit', async () => {
    const { service } = testService({ limits: { maxSubscribedNames: 100 } });
    const { stream, session } = await open(service, bookSnapshot(proxyA));
    session.receive(deltaRequest('endpoints', { resourceNamesSubscribe: Array.from({ length: 101 }, (_, i) => `n${i}`) }));
    assert.equal(stream.closedWith !== 'ok' && stream.closedWith?.code, 'ResourceExhausted');
  });
});
