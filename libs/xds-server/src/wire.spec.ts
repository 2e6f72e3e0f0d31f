import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { envoy } from '@osm/envoy-api';
import { TYPE_URLS } from '@osm/xds-snapshot';
import { res } from '../test/fakes.ts';
import { encodeDeltaDiscoveryResponse, encodeDiscoveryResponse } from './wire.ts';

const { DiscoveryResponse, DeltaDiscoveryResponse } = envoy.service.discovery.v3;

describe('hand-written responses equal the generated codecs byte for byte', () => {
  const cases = [
    { name: 'no resources', resources: [] },
    { name: 'one resource', resources: [res('clusters', 'shop/db|5432')] },
    { name: 'a resource over 127 and 16,383 bytes (multi-byte lengths)', resources: [res('clusters', 'a', 'x'.repeat(200)), res('clusters', 'b', 'y'.repeat(20_000))] },
    { name: 'non-ASCII names', resources: [res('clusters', 'ns/dienst-ä|80')] },
  ];
  for (const c of cases) {
    it(`DiscoveryResponse: ${c.name}`, () => {
      const fields = { typeUrl: TYPE_URLS.clusters, version: 'v1', resources: c.resources, nonce: '7', controlPlane: 'osm-controller-0' };
      const expected = DiscoveryResponse.encode(
        DiscoveryResponse.fromPartial({
          versionInfo: fields.version,
          typeUrl: fields.typeUrl,
          nonce: fields.nonce,
          controlPlane: { identifier: fields.controlPlane },
          resources: c.resources.map((r) => ({ typeUrl: fields.typeUrl, value: r.bytes })),
        }),
      ).finish();
      assert.deepEqual(new Uint8Array(encodeDiscoveryResponse(fields)), expected);
    });
    it(`DeltaDiscoveryResponse: ${c.name}, with removals`, () => {
      const fields = { typeUrl: TYPE_URLS.clusters, version: 'v2', resources: c.resources, removed: ['gone-1', 'gone-2'], nonce: 'a', controlPlane: 'osm-controller-1' };
      const expected = DeltaDiscoveryResponse.encode(
        DeltaDiscoveryResponse.fromPartial({
          systemVersionInfo: fields.version,
          typeUrl: fields.typeUrl,
          nonce: fields.nonce,
          removedResources: fields.removed,
          controlPlane: { identifier: fields.controlPlane },
          resources: c.resources.map((r) => ({ name: r.name, version: r.version, resource: { typeUrl: fields.typeUrl, value: r.bytes } })),
        }),
      ).finish();
      assert.deepEqual(new Uint8Array(encodeDeltaDiscoveryResponse(fields)), expected);
    });
  }

  it('leaves an empty version out, as proto3 does', () => {
    const fields = { typeUrl: TYPE_URLS.routes, version: '', resources: [], removed: ['x'], nonce: '1', controlPlane: 'r' };
    const decoded = DeltaDiscoveryResponse.decode(encodeDeltaDiscoveryResponse(fields));
    assert.equal(decoded.systemVersionInfo, '');
    assert.deepEqual(decoded.removedResources, ['x']);
  });
});
