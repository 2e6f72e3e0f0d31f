import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { bootstrapConfigFiles, envoyBootstrap } from './bootstrap.ts';
import { defaultSidecarSettings } from './settings.ts';

const controller = { host: 'osm-controller.mesh.svc.cluster.local', port: 15128, serverName: 'osm-controller.mesh.svc.cluster.local' };
const input = { proxyUuid: '11111111-2222-4333-8444-555555555555', controller, settings: defaultSidecarSettings, probes: [] };
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('envoyBootstrap', () => {
  it('node id, ADS over gRPC v3 to the controller, CDS and LDS from ADS, admin on 127.0.0.1:15000', () => {
    const b = envoyBootstrap(input) as Json;
    assert.equal(b['node'].id, input.proxyUuid);
    assert.deepEqual(b['admin'].address, { socket_address: { address: '127.0.0.1', port_value: 15000 } });
    const ads = b['dynamic_resources'].ads_config;
    assert.equal(ads.api_type, 'GRPC');
    assert.equal(ads.transport_api_version, 'V3');
    assert.equal(ads.grpc_services[0].envoy_grpc.cluster_name, 'osm-controller');
    assert.ok(ads.grpc_services[0].envoy_grpc.retry_policy.retry_back_off.max_interval, 'reconnects back off');
    assert.deepEqual(b['dynamic_resources'].cds_config, { ads: {}, resource_api_version: 'V3' });
    assert.deepEqual(b['dynamic_resources'].lds_config, { ads: {}, resource_api_version: 'V3' });
    const cluster = b['static_resources'].clusters[0];
    assert.equal(cluster.name, 'osm-controller');
    assert.equal(cluster.type, 'LOGICAL_DNS');
    assert.deepEqual(cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address, { address: controller.host, port_value: 15128 });
    const tls = cluster.transport_socket.typed_config;
    assert.equal(tls['@type'], 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext');
    assert.equal(tls.sni, controller.serverName);
    assert.deepEqual(tls.common_tls_context.alpn_protocols, ['h2']);
  });

  it('an IP address for the controller makes a STATIC cluster; the server name stays the Service name', () => {
    const b = envoyBootstrap({ ...input, controller: { ...controller, host: '127.0.0.1', port: 31000 } }) as Json;
    const cluster = b['static_resources'].clusters[0];
    assert.equal(cluster.type, 'STATIC');
    assert.equal(cluster.transport_socket.typed_config.sni, controller.serverName);
  });

  it('the SDS files name the bootstrap certificate, the mesh root and the controller SAN', () => {
    const files = bootstrapConfigFiles(input);
    assert.deepEqual(Object.keys(files).sort(), ['bootstrap.yaml', 'tls_certificate_sds_secret.yaml', 'validation_context_sds_secret.yaml']);
    const tls = parse(files['tls_certificate_sds_secret.yaml'] ?? '') as Json;
    assert.deepEqual(tls['resources'][0].tls_certificate, { certificate_chain: { filename: '/etc/envoy/sds_cert.pem' }, private_key: { filename: '/etc/envoy/sds_key.pem' } });
    const validation = parse(files['validation_context_sds_secret.yaml'] ?? '') as Json;
    assert.deepEqual(validation['resources'][0].validation_context, {
      trusted_ca: { filename: '/etc/envoy/cacert.pem' },
      match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: controller.serverName } }],
    });
    assert.doesNotMatch(files['bootstrap.yaml'] ?? '', /[&*]a\d/, 'no YAML anchors');
    assert.deepEqual(parse(files['bootstrap.yaml'] ?? ''), envoyBootstrap(input));
  });
});
