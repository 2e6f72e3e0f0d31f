// The state-of-the-world protocol over a fake stream: versions, nonces, ACK and NACK, subscriptions,
// push order, back-pressure. Each test opens a stream for proxyA, as Envoy would.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseProxyCertCommonName, proxySpiffeId } from '@osm/mesh-model';
import { TYPE_URLS, type ResourceType, type Snapshot } from '@osm/xds-snapshot';
import { bookSnapshot, FakeStream, peerOf, proxyA, proxyB, request, settle, testService, type Response, type SotwHandle } from '../test/fakes.ts';
import { SHORT_NAMES } from './types.ts';
import type { AdsService } from './service.ts';

const ALL: readonly ResourceType[] = ['clusters', 'endpoints', 'listeners', 'routes', 'secrets'];
const short = (r: Response): string => SHORT_NAMES[Object.entries(TYPE_URLS).find(([, url]) => url === r.typeUrl)?.[0] as ResourceType];
const namesOf = (r: Response): string[] => r.resources.map((a) => Buffer.from(a.value).toString().split('=')[0] as string);

/** A verified stream for proxyA holding `snapshot`, with every type requested as Envoy does on connect, and ACKed. */
async function connected(service: AdsService, snapshot: Snapshot): Promise<{ stream: FakeStream; session: SotwHandle; last: Map<ResourceType, Response> }> {
  const stream = new FakeStream();
  const session = service.openSotw(stream, peerOf(proxyA));
  service.setSnapshot(snapshot); // no stream of the proxy yet: not kept
  session.receive(request('clusters'));
  await settle();
  service.setSnapshot(snapshot);
  const last = new Map<ResourceType, Response>();
  for (const type of ALL) {
    if (type !== 'clusters') session.receive(request(type, { resourceNames: [...snapshot.types[type].resources.keys()] }));
  }
  for (const r of stream.take()) last.set(ALL.find((t) => TYPE_URLS[t] === r.typeUrl) as ResourceType, r);
  for (const [type, r] of last) session.receive(request(type, { versionInfo: r.versionInfo, responseNonce: r.nonce, resourceNames: type === 'clusters' || type === 'listeners' ? [] : namesOf(r) }));
  assert.equal(stream.sent.length, 0, 'ACKs get no response');
  return { stream, session, last };
}

/** ACKs every response in `responses` on `session`, as Envoy does. */
function ack(session: SotwHandle, responses: Response[], names: Partial<Record<ResourceType, string[]>> = {}): void {
  for (const r of responses) {
    const type = ALL.find((t) => TYPE_URLS[t] === r.typeUrl) as ResourceType;
    session.receive(request(type, { versionInfo: r.versionInfo, responseNonce: r.nonce, resourceNames: names[type] ?? (type === 'clusters' || type === 'listeners' ? [] : namesOf(r)) }));
  }
}

describe('SotW: first responses', () => {
  it('answers each requested type with the whole set, its version, a fresh nonce and the replica id', async () => {
    const { service } = testService();
    const snapshot = bookSnapshot(proxyA);
    const { last } = await connected(service, snapshot);
    for (const type of ALL) {
      const r = last.get(type);
      assert.ok(r, `${type} answered`);
      assert.equal(r.versionInfo, snapshot.types[type].version);
      assert.deepEqual(namesOf(r).sort(), [...snapshot.types[type].resources.keys()].sort());
      assert.equal(r.controlPlane?.identifier, 'replica-1');
    }
    assert.equal(new Set([...last.values()].map((r) => r.nonce)).size, 5, 'nonces are unique on the stream');
  });

  it('waits for the snapshot when the requests come first', async () => {
    const { service } = testService();
    const stream = new FakeStream();
    const session = service.openSotw(stream, peerOf(proxyA));
    session.receive(request('clusters'));
    session.receive(request('listeners'));
    await settle();
    assert.equal(stream.sent.length, 0);
    service.setSnapshot(bookSnapshot(proxyA));
    assert.deepEqual(stream.responses().map(short), ['CDS', 'LDS'], 'make-before-break order');
  });

  const reconnects: [string, (s: Snapshot) => Partial<Record<ResourceType, string>>, string[]][] = [
    ['every type current', (s) => Object.fromEntries(ALL.map((t) => [t, s.types[t].version])), []],
    ['clusters and listeners current, the rest stale', (s) => ({ clusters: s.types.clusters.version, listeners: s.types.listeners.version, endpoints: 'old', routes: 'old', secrets: 'old' }), ['EDS', 'RDS', 'SDS']],
    ['nothing held', () => ({}), ['CDS', 'EDS', 'LDS', 'RDS', 'SDS']],
  ];
  for (const [name, held, expected] of reconnects) {
    it(`a new stream whose requests carry versions (${name}) gets only what it does not hold`, async () => {
      const { service } = testService();
      const snapshot = bookSnapshot(proxyA);
      const stream = new FakeStream();
      const session = service.openSotw(stream, peerOf(proxyA));
      session.receive(request('clusters', { versionInfo: held(snapshot).clusters ?? '' }));
      await settle();
      service.setSnapshot(snapshot);
      for (const type of ALL.slice(1)) session.receive(request(type, { versionInfo: held(snapshot)[type] ?? '', resourceNames: [...snapshot.types[type].resources.keys()] }));
      assert.deepEqual(stream.responses().map(short).sort(), [...expected].sort());
    });
  }
});

describe('SotW: pushes', () => {
  it('reports the version of each response, which is what the ACK of it carries', async () => {
    const { service, events } = testService();
    const { stream, session } = await connected(service, bookSnapshot(proxyA));
    events.length = 0;
    const next = bookSnapshot(proxyA, { clusters: ['shop/db|5432=v2', 'shop/cache|6379'] });
    service.setSnapshot(next);
    const [cds] = stream.take() as [Response];
    session.receive(request('clusters', { versionInfo: cds.versionInfo, responseNonce: cds.nonce }));
    assert.deepEqual(events, [`response web-1 clusters ${next.types.clusters.version} ok`, `ack web-1 clusters ${next.types.clusters.version}`]);
  });

  it('sends only the types that changed, in make-before-break order', async () => {
    const { service } = testService();
    const { stream } = await connected(service, bookSnapshot(proxyA));
    service.setSnapshot(bookSnapshot(proxyA, { secrets: ['service-cert:shop/web=rotated', 'root-cert-for-mtls-inbound'], clusters: ['shop/db|5432=v2', 'shop/cache|6379'] }));
    assert.deepEqual(stream.take().map(short), ['CDS', 'SDS']);
  });

  it('sends nothing when a new snapshot has the same content', async () => {
    const { service } = testService();
    const { stream } = await connected(service, bookSnapshot(proxyA));
    service.setSnapshot(bookSnapshot(proxyA));
    assert.equal(stream.sent.length, 0);
  });

  it('pushes only to the proxy whose snapshot changed', async () => {
    const { service } = testService();
    const a = await connected(service, bookSnapshot(proxyA));
    const other = new FakeStream();
    const b = service.openSotw(other, peerOf(proxyB));
    b.receive(request('clusters', {}, proxyB));
    await settle();
    service.setSnapshot(bookSnapshot(proxyB));
    assert.equal(other.take().length, 1);
    service.setSnapshot(bookSnapshot(proxyB, { clusters: ['x'] }));
    assert.equal(other.take().length, 1);
    assert.equal(a.stream.sent.length, 0, 'proxyA saw no new nonce');
  });

  it('removes clusters and listeners only after the other types are updated', async () => {
    const { service } = testService();
    const { stream } = await connected(service, bookSnapshot(proxyA));
    service.setSnapshot(
      bookSnapshot(proxyA, { clusters: ['shop/db|5432=v2'], endpoints: ['shop/db|5432'], listeners: ['outbound-listener=v2', 'inbound-listener'], routes: ['rds-inbound.8080=v2'] }),
    );
    const pushed = stream.take();
    assert.deepEqual(pushed.map(short), ['CDS', 'EDS', 'LDS', 'RDS', 'CDS']);
    assert.deepEqual(namesOf(pushed[0] as Response).sort(), ['shop/cache|6379', 'shop/db|5432'], 'first CDS updates one cluster and keeps the removed one');
    assert.deepEqual(namesOf(pushed[4] as Response), ['shop/db|5432'], 'last CDS drops it');
  });

  it('sends the removal alone, last, when the proxy already holds everything else of the type', async () => {
    const { service } = testService();
    const { stream } = await connected(service, bookSnapshot(proxyA));
    service.setSnapshot(bookSnapshot(proxyA, { clusters: ['shop/db|5432'], listeners: ['outbound-listener=v2', 'inbound-listener'] }));
    assert.deepEqual(stream.take().map(short), ['LDS', 'CDS']);
  });

  it('removes at once when nothing after the type changes', async () => {
    const { service } = testService();
    const { stream } = await connected(service, bookSnapshot(proxyA));
    service.setSnapshot(bookSnapshot(proxyA, { listeners: ['outbound-listener'] }));
    const pushed = stream.take();
    assert.deepEqual(pushed.map(short), ['LDS']);
    assert.deepEqual(namesOf(pushed[0] as Response), ['outbound-listener']);
  });
});

describe('SotW: ACK and NACK', () => {
  it('a NACK keeps the version from being sent again until the config changes, and is logged with Envoy\'s detail', async () => {
    const { service, events, logs } = testService();
    const { stream, session, last } = await connected(service, bookSnapshot(proxyA));
    const bad = bookSnapshot(proxyA, { routes: ['rds-inbound.8080=bad'] });
    service.setSnapshot(bad);
    const [pushed] = stream.take() as [Response];
    const held = last.get('routes') as Response;
    session.receive(request('routes', { versionInfo: held.versionInfo, responseNonce: pushed.nonce, resourceNames: ['rds-inbound.8080'], errorDetail: { code: 3, message: 'route: unknown cluster', details: [] } }));
    assert.equal(stream.sent.length, 0, 'not re-sent after the NACK');
    service.setSnapshot(bookSnapshot(proxyA, { routes: ['rds-inbound.8080=bad'] }));
    assert.equal(stream.sent.length, 0, 'not re-sent when the same version is set again');
    assert.ok(events.includes(`nack web-1 routes ${bad.types.routes.version} route: unknown cluster`));
    const line = logs.find((l) => String(l['msg']).includes('NACK'));
    assert.equal(line?.['errorDetail'], 'route: unknown cluster');
    assert.equal(line?.['keptVersion'], held.versionInfo);
    const status = service.streamsOf(proxyA.uuid)[0]?.types.find((t) => t.type === 'RDS');
    assert.equal(status?.nacks, 1);
    assert.equal(status?.acked?.version, held.versionInfo, 'the ACKed version is still the last good one');
    service.setSnapshot(bookSnapshot(proxyA, { routes: ['rds-inbound.8080=fixed'] }));
    assert.deepEqual(stream.take().map(short), ['RDS'], 'a changed config is sent');
  });

  it('ignores a request with a stale or garbage nonce', async () => {
    const { service } = testService();
    const { stream, session } = await connected(service, bookSnapshot(proxyA));
    for (const nonce of ['999', 'garbage\u0000\u00ff', 'x'.repeat(10_000)]) {
      session.receive(request('endpoints', { responseNonce: nonce, resourceNames: ['shop/db|5432'], errorDetail: { code: 13, message: 'ignored', details: [] } }));
    }
    assert.equal(stream.sent.length, 0);
    assert.equal(service.streamsOf(proxyA.uuid)[0]?.types.find((t) => t.type === 'EDS')?.nacks, 0);
  });

  it('records the ACKed version and nonce per type', async () => {
    const { service } = testService();
    const snapshot = bookSnapshot(proxyA);
    const { last } = await connected(service, snapshot);
    const types = service.streamsOf(proxyA.uuid)[0]?.types ?? [];
    for (const type of ALL) {
      const t = types.find((x) => x.type === SHORT_NAMES[type]);
      assert.deepEqual(t?.acked, { version: snapshot.types[type].version, nonce: last.get(type)?.nonce });
    }
  });
});

describe('SotW: subscriptions', () => {
  it('answers named types with the subscribed part only, and again when the subscription grows', async () => {
    const { service } = testService();
    const snapshot = bookSnapshot(proxyA);
    const stream = new FakeStream();
    const session = service.openSotw(stream, peerOf(proxyA));
    session.receive(request('endpoints', { resourceNames: ['shop/db|5432', 'not-there'] }));
    await settle();
    service.setSnapshot(snapshot);
    const [first] = stream.take() as [Response];
    assert.deepEqual(namesOf(first), ['shop/db|5432']);
    assert.notEqual(first.versionInfo, snapshot.types.endpoints.version, 'a part has its own version');
    ack(session, [first], { endpoints: ['shop/db|5432', 'shop/cache|6379'] });
    const [second] = stream.take() as [Response];
    assert.deepEqual(namesOf(second).sort(), ['shop/cache|6379', 'shop/db|5432']);
    assert.equal(second.versionInfo, snapshot.types.endpoints.version, 'the whole set has the set version');
  });

  it('treats clusters and listeners as wildcard whatever names come', async () => {
    const { service } = testService();
    const stream = new FakeStream();
    const session = service.openSotw(stream, peerOf(proxyA));
    session.receive(request('clusters', { resourceNames: ['shop/db|5432'] }));
    await settle();
    service.setSnapshot(bookSnapshot(proxyA));
    assert.deepEqual(namesOf(stream.take()[0] as Response).sort(), ['shop/cache|6379', 'shop/db|5432']);
  });

  it('ignores a subscription beyond the limit and keeps serving the previous one', async () => {
    const { service, logs } = testService({ limits: { maxSubscribedNames: 1000 } });
    const { stream, session, last } = await connected(service, bookSnapshot(proxyA));
    const eds = last.get('endpoints') as Response;
    session.receive(request('endpoints', { versionInfo: eds.versionInfo, responseNonce: eds.nonce, resourceNames: Array.from({ length: 100_000 }, (_, i) => `name-${i}`) }));
    assert.equal(stream.sent.length, 0);
    assert.ok(logs.some((l) => l['msg'] === 'subscription has more names than allowed' && l['names'] === 100_000));
    service.setSnapshot(bookSnapshot(proxyA, { endpoints: ['shop/db|5432=moved', 'shop/cache|6379'] }));
    assert.deepEqual(namesOf(stream.take()[0] as Response).sort(), ['shop/cache|6379', 'shop/db|5432'], 'the old subscription still applies');
  });

  it('ignores a type URL it does not serve, once logged, and keeps serving', async () => {
    const { service, logs } = testService();
    const { stream, session } = await connected(service, bookSnapshot(proxyA));
    for (let i = 0; i < 3; i++) session.receive(request('clusters', { typeUrl: 'type.googleapis.com/envoy.service.runtime.v3.Runtime' }));
    session.receive(request('clusters', { typeUrl: '' }));
    assert.equal(stream.sent.length, 0);
    assert.equal(logs.filter((l) => String(l['msg']).includes('does not serve')).length, 2, 'once per type URL');
    service.setSnapshot(bookSnapshot(proxyA, { clusters: ['shop/db|5432=v9', 'shop/cache|6379'] }));
    assert.deepEqual(stream.take().map(short), ['CDS']);
    assert.equal(stream.closedWith, undefined);
  });

  it("refuses a secret that is another identity's certificate", async () => {
    const owners = new Map([
      ['service-cert:shop/web', proxyA.identity],
      ['service-cert:shop/db', proxyB.identity],
    ]);
    const { service } = testService({ secretOwner: (name) => owners.get(name) });
    const { stream, session, last } = await connected(service, bookSnapshot(proxyA));
    const sds = last.get('secrets') as Response;
    session.receive(request('secrets', { versionInfo: sds.versionInfo, responseNonce: sds.nonce, resourceNames: ['service-cert:shop/web', 'service-cert:shop/db'] }));
    assert.equal(stream.closedWith !== 'ok' && stream.closedWith?.code, 'PermissionDenied');
    assert.match(String(stream.closedWith !== 'ok' && stream.closedWith?.message), /service-cert:shop\/db.*certificate of shop\/db.*runs as shop\/web/);
    assert.equal(service.isConnected(proxyA.uuid), false);
  });
});

describe('SotW: verification', () => {
  const workloadLookalike = `spiffe://cluster.local/ns/shop/sa/${proxyA.uuid}.sidecar.web`;
  const cases: [string, { cn?: string; uris?: string[]; node?: string }, string][] = [
    ['no verified client certificate', { cn: '' }, 'Unauthenticated'],
    // A service certificate for the service account `<uuid>.sidecar.web` in shop has the bootstrap CN of proxyA.
    ['a service certificate whose CN has the bootstrap form', { uris: [workloadLookalike] }, 'Unauthenticated'],
    ['a bootstrap CN without a URI SAN', { uris: [] }, 'Unauthenticated'],
    ['the bootstrap URI of another proxy', { uris: [proxySpiffeId(proxyB, 'cluster.local')] }, 'Unauthenticated'],
    ['a workload URI next to the bootstrap URI', { uris: [proxySpiffeId(proxyA, 'cluster.local'), workloadLookalike] }, 'Unauthenticated'],
    ['a service certificate, not a proxy one', { cn: 'web.shop.cluster.local' }, 'Unauthenticated'],
    ['another trust domain', { cn: `${proxyA.uuid}.sidecar.web.shop.example.com` }, 'Unauthenticated'],
    ['node.id of another proxy', { node: proxyB.uuid }, 'PermissionDenied'],
    ['no pod with the uuid', { cn: `33333333-3333-4333-8333-333333333333.sidecar.web.shop.cluster.local`, node: '33333333-3333-4333-8333-333333333333' }, 'NotFound'],
    ['a pod running as another service account', { cn: `${proxyA.uuid}.sidecar.db.shop.cluster.local` }, 'PermissionDenied'],
    ['no node.id on the first request', { node: '' }, 'InvalidArgument'],
  ];
  for (const [name, c, code] of cases) {
    it(`refuses ${name} with ${code}`, async () => {
      const { service, events } = testService();
      const stream = new FakeStream();
      const cn = c.cn === undefined ? `${proxyA.uuid}.sidecar.web.shop.cluster.local` : c.cn || undefined;
      // By default the bootstrap URI that agrees with the CN, so that the later checks are what refuses.
      const named = cn === undefined ? undefined : parseProxyCertCommonName(cn, 'cluster.local');
      const uris = c.uris ?? (named ? [proxySpiffeId(named, 'cluster.local')] : []);
      const session = service.openSotw(stream, { commonName: cn, uris, address: 'x' });
      service.setSnapshot(bookSnapshot(proxyA));
      session.receive(request('clusters', { node: { id: c.node ?? proxyA.uuid } }));
      await settle();
      assert.equal(stream.closedWith !== 'ok' && stream.closedWith?.code, code);
      assert.equal(stream.sent.length, 0, 'nothing served');
      assert.equal(service.size, 0, 'the session is gone');
      if (code !== 'InvalidArgument') assert.ok(events.includes(`refused ${code}`));
    });
  }
});

describe('SotW: a stream that ends while its proxy is verified', () => {
  it('stops the wait for its pod, and is never served', async () => {
    const signals: AbortSignal[] = [];
    // A pod that is not known yet: the directory waits until the stream's signal aborts.
    const directory = {
      find: (_uuid: string, signal: AbortSignal) => {
        signals.push(signal);
        return new Promise<undefined>((resolve) => signal.addEventListener('abort', () => resolve(undefined)));
      },
    };
    const { service } = testService({ directory });
    const stream = new FakeStream();
    const session = service.openSotw(stream, peerOf(proxyA));
    session.receive(request('clusters'));
    await settle();
    assert.equal(signals.length, 1);
    assert.equal(signals[0]?.aborted, false);
    session.ended();
    assert.equal(signals[0]?.aborted, true, 'the wait for the pod ends with the stream');
    await settle();
    service.setSnapshot(bookSnapshot(proxyA));
    assert.equal(stream.sent.length, 0, 'nothing served');
    assert.equal(service.size, 0, 'the session is gone');
  });
});

describe('SotW: back-pressure', () => {
  it('sends nothing while the stream is full, then only the latest config', async () => {
    const { service } = testService();
    const { stream, session } = await connected(service, bookSnapshot(proxyA));
    stream.writable = false;
    service.setSnapshot(bookSnapshot(proxyA, { clusters: ['shop/db|5432=1', 'shop/cache|6379'] }));
    assert.equal(stream.take().length, 1, 'the write that filled the buffer');
    for (let i = 2; i <= 5; i++) service.setSnapshot(bookSnapshot(proxyA, { clusters: [`shop/db|5432=${i}`, 'shop/cache|6379'] }));
    assert.equal(stream.sent.length, 0);
    stream.writable = true;
    session.drained();
    const [latest] = stream.take() as [Response];
    assert.equal(latest.versionInfo, bookSnapshot(proxyA, { clusters: ['shop/db|5432=5', 'shop/cache|6379'] }).types.clusters.version);
  });

  it('closes a stream that does not read while too many updates arrive', async () => {
    const { service } = testService({ limits: { maxPendingUpdates: 3 } });
    const { stream } = await connected(service, bookSnapshot(proxyA));
    stream.writable = false;
    for (let i = 0; i < 5; i++) service.setSnapshot(bookSnapshot(proxyA, { clusters: [`c=${i}`] }));
    assert.equal(stream.closedWith !== 'ok' && stream.closedWith?.code, 'ResourceExhausted');
    assert.equal(service.isConnected(proxyA.uuid), false);
  });
});

