// The hand-written codec against the generated one: what it writes decodes to the intended message,
// and what the generated encoder writes it reads back.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { envoy, google, packAny } from '@osm/envoy-api';
import { encodeDeltaRequest, encodeNode, encodeSotwRequest, forEachAny, parseSotwResponse, readName, WireError, type DeltaRequest, type SotwRequest } from './wire.ts';

const { DiscoveryRequest, DeltaDiscoveryRequest, DiscoveryResponse } = envoy.service.discovery.v3;
const { Cluster } = envoy.config.cluster.v3;
const { Listener } = envoy.config.listener.v3;
const node = encodeNode({ id: '6a1f3c6e-0000-4000-8000-000000000001', cluster: 'bookbuyer.bookbuyer' });

describe('request encoding', () => {
  const sotw: { name: string; request: SotwRequest }[] = [
    { name: 'first request with the node', request: { kind: 'sotw', typeUrl: 'type.googleapis.com/envoy.config.cluster.v3.Cluster', versionInfo: '', resourceNames: [], responseNonce: '', node: true } },
    { name: 'ACK with names', request: { kind: 'sotw', typeUrl: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment', versionInfo: 'v1', resourceNames: ['a', 'bookstore/bookstore|14001', 'ü'], responseNonce: '17', node: false } },
    {
      name: 'NACK with a long detail',
      request: { kind: 'sotw', typeUrl: 'T', versionInfo: 'v0', resourceNames: ['x'], responseNonce: '18', errorDetail: { code: 13, message: 'bad '.repeat(100) }, node: false },
    },
  ];
  for (const { name, request } of sotw) {
    it(`SotW: ${name}`, () => {
      const decoded = DiscoveryRequest.decode(encodeSotwRequest(request, node));
      assert.equal(decoded.typeUrl, request.typeUrl);
      assert.equal(decoded.versionInfo, request.versionInfo);
      assert.deepEqual(decoded.resourceNames, request.resourceNames);
      assert.equal(decoded.responseNonce, request.responseNonce);
      assert.equal(decoded.node?.id, request.node ? '6a1f3c6e-0000-4000-8000-000000000001' : undefined);
      assert.equal(decoded.node?.cluster, request.node ? 'bookbuyer.bookbuyer' : undefined);
      assert.deepEqual(decoded.errorDetail && { code: decoded.errorDetail.code, message: decoded.errorDetail.message }, request.errorDetail);
    });
  }

  it('delta: subscriptions, initial versions, nonce and NACK', () => {
    const request: DeltaRequest = {
      kind: 'delta',
      typeUrl: 'T',
      subscribe: ['a', 'b'],
      unsubscribe: ['c'],
      initialVersions: new Map([
        ['a', '1'],
        ['b', '2'],
      ]),
      responseNonce: '9',
      errorDetail: { code: 13, message: 'no' },
      node: true,
    };
    const decoded = DeltaDiscoveryRequest.decode(encodeDeltaRequest(request, node));
    assert.equal(decoded.typeUrl, 'T');
    assert.deepEqual(decoded.resourceNamesSubscribe, ['a', 'b']);
    assert.deepEqual(decoded.resourceNamesUnsubscribe, ['c']);
    assert.deepEqual(decoded.initialResourceVersions, { a: '1', b: '2' });
    assert.equal(decoded.responseNonce, '9');
    assert.equal(decoded.errorDetail?.message, 'no');
    assert.equal(decoded.node?.id, '6a1f3c6e-0000-4000-8000-000000000001');
    const ack = DeltaDiscoveryRequest.decode(encodeDeltaRequest({ kind: 'delta', typeUrl: 'T', subscribe: [], unsubscribe: [], responseNonce: '10', node: false }, node));
    assert.deepEqual([ack.node, ack.resourceNamesSubscribe, ack.errorDetail, ack.responseNonce], [undefined, [], undefined, '10']);
  });
});

describe('response parsing', () => {
  const clusters = [Cluster.fromPartial({ name: 'bookstore/bookstore|14001' }), Cluster.fromPartial({ name: 'passthrough-outbound' })];
  const typeUrl = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';

  it('reads version, type, nonce and control plane, and leaves the resources as a view', () => {
    const bytes = Buffer.from(
      DiscoveryResponse.encode(
        DiscoveryResponse.fromPartial({ versionInfo: 'v7', typeUrl, nonce: '42', controlPlane: { identifier: 'osm-controller-0' }, resources: clusters.map((c) => packAny(Cluster, c)) }),
      ).finish(),
    );
    const r = parseSotwResponse(bytes);
    assert.deepEqual([r.versionInfo, r.typeUrl, r.nonce, r.controlPlane, r.resourceCount], ['v7', typeUrl, '42', 'osm-controller-0', 2]);
    assert.equal(r.resources.buffer, bytes.buffer, 'contiguous resources are not copied');
    const seen: string[] = [];
    forEachAny(r.resources, (t, value) => seen.push(`${t} ${Cluster.decode(value).name} ${readName(value)}`));
    assert.deepEqual(seen, clusters.map((c) => `${typeUrl} ${c.name} ${c.name}`));
  });

  it('collects resources an encoder interleaved with other fields', () => {
    const any = (c: envoy.config.cluster.v3.Cluster) => google.protobuf.Any.encode(packAny(Cluster, c)).finish();
    const field = (n: number, body: Uint8Array) => Buffer.concat([Buffer.from([(n << 3) | 2, body.length]), body]);
    const bytes = Buffer.concat([...clusters.map((c, i) => (i === 0 ? field(2, any(c)) : Buffer.concat([field(5, Buffer.from('n1')), field(2, any(c))])))]);
    const r = parseSotwResponse(bytes);
    assert.equal(r.nonce, 'n1');
    const names: string[] = [];
    forEachAny(r.resources, (_t, value) => names.push(readName(value)));
    assert.deepEqual(names, ['bookstore/bookstore|14001', 'passthrough-outbound']);
  });

  it('rejects a truncated message with a coded error', () => {
    const bytes = Buffer.from(DiscoveryResponse.encode(DiscoveryResponse.fromPartial({ versionInfo: 'v1', typeUrl })).finish()).subarray(0, 5);
    assert.throws(() => parseSotwResponse(bytes), (err: unknown) => err instanceof WireError && err.code === 'MALFORMED_MESSAGE');
  });

  it('reads the name of every resource type from field 1', () => {
    assert.equal(readName(Listener.encode(Listener.fromPartial({ name: 'outbound-listener' })).finish()), 'outbound-listener');
    assert.equal(readName(envoy.config.endpoint.v3.ClusterLoadAssignment.encode({ clusterName: 'c', endpoints: [], namedEndpoints: {}, policy: undefined }).finish()), 'c');
  });
});
