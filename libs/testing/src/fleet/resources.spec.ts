// Decoding real resources of a bookstore snapshot: names, the names they make a proxy subscribe to,
// what Envoy would reject, and that each distinct resource and response is decoded once.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { envoy, packAny } from '@osm/envoy-api';
import { SERVICE_CERT, TYPE_URLS, type ResourceType, type Snapshot } from '@osm/xds-snapshot';
import { bookstoreModel, bookstoreProxies, meshPki, Snapshots } from '../../test/fleet-mesh.ts';
import { GenerationalMap, ResourceDecoder } from './resources.ts';
import { parseSotwResponse } from './wire.ts';

const { DiscoveryResponse } = envoy.service.discovery.v3;

function responseBytes(snapshot: Snapshot, type: ResourceType, nonce: string, reversed = false): Buffer {
  const set = snapshot.types[type];
  const resources = [...set.resources.values()].map((r) => ({ typeUrl: r.typeUrl, value: r.bytes }));
  if (reversed) resources.reverse();
  return Buffer.from(DiscoveryResponse.encode(DiscoveryResponse.fromPartial({ versionInfo: set.version, typeUrl: set.typeUrl, nonce, resources })).finish());
}

describe('ResourceDecoder', () => {
  let bookbuyer: Snapshot;
  let bookstore: Snapshot;

  before(async () => {
    const proxies = bookstoreProxies(2);
    const snapshots = await new Snapshots(await meshPki()).build(bookstoreModel(proxies));
    bookbuyer = snapshots.get(proxies[0]?.uuid as string) as Snapshot;
    bookstore = snapshots.get(proxies[1]?.uuid as string) as Snapshot;
  });

  it('reads the names an EDS cluster with mTLS and an HTTP listener make a proxy subscribe to', () => {
    const decoder = new ResourceDecoder();
    const cluster = bookbuyer.types.clusters.resources.get('bookstore/bookstore|14001');
    assert.ok(cluster);
    const c = decoder.decode(cluster.typeUrl, cluster.bytes);
    assert.equal(c.name, 'bookstore/bookstore|14001');
    assert.equal(c.error, undefined);
    assert.deepEqual(c.refs.endpoints, ['bookstore/bookstore|14001']);
    assert.deepEqual([...c.refs.secrets].sort(), ['root-cert-for-mtls-outbound:bookstore/bookstore', SERVICE_CERT]);
    const listener = [...bookstore.types.listeners.resources.values()].find((r) => r.name === 'inbound-listener');
    assert.ok(listener);
    const l = decoder.decode(listener.typeUrl, listener.bytes);
    assert.ok(l.refs.routes.length > 0, 'the inbound HTTP connection manager names its route configuration');
    assert.ok(l.refs.secrets.includes('root-cert-for-mtls-inbound'));
  });

  it('decodes each distinct resource once and returns the same object for the same bytes', () => {
    const decoder = new ResourceDecoder();
    const cluster = [...bookbuyer.types.clusters.resources.values()][0];
    assert.ok(cluster);
    const first = decoder.decode(cluster.typeUrl, cluster.bytes);
    const again = decoder.decode(cluster.typeUrl, Buffer.from(cluster.bytes));
    assert.equal(again, first);
    assert.equal(decoder.decoded, 1);
  });

  it('decodes a response once: the same resources in another response (other nonce) are the same list', () => {
    const decoder = new ResourceDecoder();
    const a = parseSotwResponse(responseBytes(bookbuyer, 'clusters', '1'));
    const b = parseSotwResponse(responseBytes(bookbuyer, 'clusters', '99'));
    const listA = decoder.list(a.typeUrl, a.resources);
    const decoded = decoder.decoded;
    const listB = decoder.list(b.typeUrl, b.resources);
    assert.equal(listB, listA);
    assert.equal(decoder.decoded, decoded);
    assert.deepEqual(listA.resources.map((r) => r.name), [...bookbuyer.types.clusters.resources.keys()]);
    assert.equal(listA.problem, undefined);
  });

  it('gives the same list for the same resources in another order (go-control-plane sends Go map order)', () => {
    const decoder = new ResourceDecoder();
    const a = parseSotwResponse(responseBytes(bookbuyer, 'secrets', '1'));
    const b = parseSotwResponse(responseBytes(bookbuyer, 'secrets', '2', true));
    assert.ok(a.resourceCount > 1);
    assert.notDeepEqual(b.resources, a.resources);
    assert.equal(decoder.list(b.typeUrl, b.resources), decoder.list(a.typeUrl, a.resources));
  });

  it('keeps a copy of the bytes only when asked', () => {
    const secret = [...bookbuyer.types.secrets.resources.values()][0];
    assert.ok(secret);
    assert.equal(new ResourceDecoder().decode(secret.typeUrl, secret.bytes).bytes, undefined);
    const input = Buffer.from(secret.bytes);
    const kept = new ResourceDecoder({ keepBytes: true }).decode(secret.typeUrl, input).bytes;
    input.fill(0);
    assert.deepEqual(kept, secret.bytes);
  });

  const broken: { name: string; typeUrl: string; bytes: Uint8Array; error: RegExp }[] = [
    { name: 'bytes that are not a Cluster', typeUrl: TYPE_URLS.clusters, bytes: Buffer.from([0x0a, 0xff, 0xff]), error: /^cannot decode type\.googleapis\.com\/envoy\.config\.cluster\.v3\.Cluster: / },
    { name: 'a type outside the Envoy API', typeUrl: 'type.googleapis.com/example.Unknown', bytes: Buffer.from([0x0a, 0x01, 0x61]), error: /^unknown resource type type\.googleapis\.com\/example\.Unknown$/ },
  ];
  for (const c of broken) {
    it(`marks ${c.name} as an error Envoy would NACK`, () => {
      assert.match(new ResourceDecoder().decode(c.typeUrl, c.bytes).error ?? '', c.error);
    });
  }

  it('finds a resource whose type differs from the response type', () => {
    const listener = envoy.config.listener.v3.Listener.fromPartial({ name: 'l' });
    const bytes = Buffer.from(DiscoveryResponse.encode(DiscoveryResponse.fromPartial({ typeUrl: TYPE_URLS.clusters, resources: [packAny(envoy.config.listener.v3.Listener, listener)] })).finish());
    const raw = parseSotwResponse(bytes);
    assert.equal(new ResourceDecoder().list(raw.typeUrl, raw.resources).problem, `resource type ${TYPE_URLS.listeners} does not match response type ${TYPE_URLS.clusters}`);
  });
});

describe('GenerationalMap', () => {
  it('keeps what was used in this generation or the last, and forgets the rest', () => {
    const m = new GenerationalMap<number>(2);
    m.set('a', 1);
    m.set('b', 2);
    m.set('c', 3); // a new generation: a and b are the previous one
    assert.equal(m.get('a'), 1); // used again: back in the current generation
    m.set('d', 4); // another generation: b was not used, so it is gone
    assert.equal(m.get('b'), undefined);
    assert.deepEqual([m.get('a'), m.get('c'), m.get('d')], [1, 3, 4]);
  });
});
