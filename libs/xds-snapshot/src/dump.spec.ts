import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { envoy, packAny, typeUrlOf } from '@osm/envoy-api';
import { decodeToJson } from './dump.ts';

const { Cluster } = envoy.config.cluster.v3;
const { RouteConfiguration } = envoy.config.route.v3;

const clusterWith = (seconds: number, nanos: number): unknown =>
  decodeToJson(typeUrlOf(Cluster), Cluster.encode(Cluster.fromPartial({ name: 'c', connectTimeout: { seconds, nanos } })).finish());

describe('dump: durations as proto JSON writes them', () => {
  const table: [number, number, string][] = [
    [0, 0, '0s'],
    [1, 0, '1s'],
    [1, 500_000_000, '1.500s'],
    [0, 1_000, '0.000001s'],
    [2, 1, '2.000000001s'],
    [-1, -500_000_000, '-1.500s'],
    [0, -1_000_000, '-0.001s'],
  ];
  for (const [seconds, nanos, want] of table) {
    it(`{seconds: ${seconds}, nanos: ${nanos}} -> ${want}`, () => {
      assert.deepEqual(clusterWith(seconds, nanos), { name: 'c', connectTimeout: want });
    });
  }

  it('a zero route timeout reads 0s, an unset one stays absent, and a Duration inside a typed config is written too', () => {
    const routes = (timeout?: { seconds: number }) =>
      RouteConfiguration.fromPartial({
        name: 'r',
        virtualHosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c', ...(timeout ? { timeout } : {}) } }] }],
      });
    const json = (rc: envoy.config.route.v3.RouteConfiguration) => JSON.stringify(decodeToJson(typeUrlOf(RouteConfiguration), RouteConfiguration.encode(rc).finish()));
    assert.match(json(routes({ seconds: 0 })), /"route":\{"cluster":"c","timeout":"0s"\}/);
    assert.doesNotMatch(json(routes()), /timeout/);
    const { HttpProtocolOptions } = envoy.extensions.upstreams.http.v3;
    const options = packAny(HttpProtocolOptions, HttpProtocolOptions.fromPartial({ commonHttpProtocolOptions: { idleTimeout: { seconds: 0, nanos: 250_000_000 } } }));
    const cluster = Cluster.fromPartial({ name: 'c', typedExtensionProtocolOptions: { [HttpProtocolOptions.$type]: options } });
    assert.match(JSON.stringify(decodeToJson(typeUrlOf(Cluster), Cluster.encode(cluster).finish())), /"commonHttpProtocolOptions":\{"idleTimeout":"0.250s"\}/);
  });
});
