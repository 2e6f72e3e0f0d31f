import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { envoy, google, packAny, typeUrlOf, unpackAny } from './index.ts';

const { Listener } = envoy.config.listener.v3;
const { Cluster } = envoy.config.cluster.v3;

describe('Envoy API round trip through google.protobuf.Any', () => {
  it('packs and unpacks a Listener with its type URL', () => {
    const listener = Listener.fromPartial({
      name: 'outbound-listener',
      address: { socketAddress: { address: '0.0.0.0', portValue: 15001 } },
      filterChains: [{ name: 'outbound:default/bookstore|14001', filters: [{ name: 'envoy.filters.network.tcp_proxy' }] }],
    });
    const any = packAny(Listener, listener);
    assert.equal(any.typeUrl, 'type.googleapis.com/envoy.config.listener.v3.Listener');
    // Through the wire as a DiscoveryResponse would carry it.
    const bytes = google.protobuf.Any.encode(any).finish();
    const decoded = unpackAny(google.protobuf.Any.decode(bytes));
    assert.deepEqual(decoded, listener);
    assert.equal((decoded as typeof listener).address?.socketAddress?.portValue, 15001);
  });

  it('packs and unpacks a Cluster with its type URL', () => {
    const cluster = Cluster.fromPartial({
      name: 'bookstore/bookstore|14001',
      type: envoy.config.cluster.v3.Cluster_DiscoveryType.EDS,
      connectTimeout: { seconds: 1, nanos: 0 },
      edsClusterConfig: { edsConfig: { ads: {}, resourceApiVersion: envoy.config.core.v3.ApiVersion.V3 } },
    });
    const any = packAny(Cluster, cluster);
    assert.equal(any.typeUrl, typeUrlOf(Cluster));
    assert.equal(any.typeUrl, 'type.googleapis.com/envoy.config.cluster.v3.Cluster');
    const decoded = unpackAny(google.protobuf.Any.decode(google.protobuf.Any.encode(any).finish()));
    assert.deepEqual(decoded, cluster);
    assert.notDeepEqual(decoded, Cluster.fromPartial({ name: cluster.name }));
  });

  it('does not decode an unknown type URL', () => {
    assert.equal(unpackAny(google.protobuf.Any.create({ typeUrl: 'type.googleapis.com/not.a.Type', value: new Uint8Array() })), undefined);
  });
});
