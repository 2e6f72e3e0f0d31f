// The sidecar's Envoy bootstrap and its two file-based SDS secrets, as Envoy reads them from the
// bootstrap Secret mounted at /etc/envoy (OSM: pkg/envoy/bootstrap/config.go and
// envoy_config_health_probes.go). Written in Envoy's proto3 JSON field names, serialized as YAML.
// Differences from OSM:
// - The xDS client checks the controller's name: SNI and a DNS SAN match on
//   `osm-controller.<ns>.svc.<clusterDomain>`. OSM trusted any certificate signed by the mesh root, so
//   any workload's service certificate could pose as the controller.
// - Reconnects to the controller back off from 250 ms to 30 s with jitter (Envoy's xDS retry policy),
//   so a fleet whose controller replica went away comes back quickly without a synchronized storm.
// - The SDS files are watched (watched_directory), so a renewed bootstrap certificate written into the
//   Secret is picked up without restarting the sidecar.
// - Probe routes match the whole path (OSM matched a prefix, so container `app` caught `app2`'s probes)
//   and time out after the probe's timeoutSeconds (OSM always used 1 s).
import { ENVOY_ADMIN_PORT, ENVOY_PROBE_PORTS } from '@osm/mesh-model';
import {
  BOOTSTRAP_FILE,
  ENVOY_CONFIG_DIR,
  TLS_SDS_FILE,
  VALIDATION_SDS_FILE,
  XDS_CA_FILE,
  XDS_CERT_FILE,
  XDS_KEY_FILE,
} from './names.ts';
import { PROBE_KINDS, PROBE_PATHS, type OriginalProbe, type ProbeKind } from './probes.ts';
import type { SidecarSettings } from './settings.ts';
import { yamlText } from './yaml-text.ts';

/** Where the sidecar finds the controller's ADS server. */
export interface ControllerAddress {
  readonly host: string;
  readonly port: number;
  /** The name the controller's serving certificate must carry (SNI and SAN check). */
  readonly serverName: string;
}

export interface BootstrapInput {
  readonly proxyUuid: string;
  readonly controller: ControllerAddress;
  readonly settings: SidecarSettings;
  readonly probes: readonly OriginalProbe[];
}

/** The controller's cluster name in the bootstrap (OSM's). */
export const CONTROLLER_CLUSTER = 'osm-controller';
const TLS_SDS_SECRET = 'tls_sds';
const VALIDATION_SDS_SECRET = 'validation_context_sds';

const type = (name: string): string => `type.googleapis.com/${name}`;
const socketAddress = (address: string, port: number): Record<string, unknown> => ({ socket_address: { address, port_value: port } });
const IPV4_LITERAL = /^\d{1,3}(\.\d{1,3}){3}$/;

const fileSds = (name: string, file: string): Record<string, unknown> => ({
  name,
  sds_config: { path_config_source: { path: `${ENVOY_CONFIG_DIR}/${file}`, watched_directory: { path: ENVOY_CONFIG_DIR } }, resource_api_version: 'V3' },
});

const staticCluster = (name: string, address: string, port: number, type: 'STATIC' | 'LOGICAL_DNS'): Record<string, unknown> => ({
  name,
  type,
  load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress(address, port) } }] }] },
});

function controllerCluster(controller: ControllerAddress, settings: SidecarSettings): Record<string, unknown> {
  const tlsParams: Record<string, unknown> = {
    tls_minimum_protocol_version: settings.tlsMinProtocolVersion,
    tls_maximum_protocol_version: settings.tlsMaxProtocolVersion,
    ...(settings.cipherSuites.length > 0 ? { cipher_suites: settings.cipherSuites } : {}),
    ...(settings.ecdhCurves.length > 0 ? { ecdh_curves: settings.ecdhCurves } : {}),
  };
  return {
    ...staticCluster(CONTROLLER_CLUSTER, controller.host, controller.port, IPV4_LITERAL.test(controller.host) ? 'STATIC' : 'LOGICAL_DNS'),
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': type('envoy.extensions.upstreams.http.v3.HttpProtocolOptions'),
        explicit_http_config: { http2_protocol_options: {} },
      },
    },
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': type('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext'),
        sni: controller.serverName,
        common_tls_context: {
          alpn_protocols: ['h2'],
          tls_params: tlsParams,
          tls_certificate_sds_secret_configs: [fileSds(TLS_SDS_SECRET, TLS_SDS_FILE)],
          validation_context_sds_secret_config: fileSds(VALIDATION_SDS_SECRET, VALIDATION_SDS_FILE),
        },
      },
    },
    upstream_connection_options: { tcp_keepalive: { keepalive_probes: 5, keepalive_time: 60, keepalive_interval: 5 } },
  };
}

const probeCluster = (probe: OriginalProbe): string => `${probe.container}_${probe.kind}_cluster`;

function probeListener(kind: ProbeKind, probes: readonly OriginalProbe[]): Record<string, unknown> | undefined {
  const http = probes.filter((p) => p.scheme === 'HTTP');
  // TLS cannot be routed by path: like OSM, one HTTPS probe per kind is passed through (the last one).
  const https = probes.filter((p) => p.scheme === 'HTTPS').at(-1);
  if (http.length === 0 && !https) return undefined;
  const filterChains: Record<string, unknown>[] = [];
  if (https) {
    filterChains.push({
      filter_chain_match: { transport_protocol: 'tls' },
      filters: [
        {
          name: 'envoy.filters.network.tcp_proxy',
          typed_config: { '@type': type('envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy'), stat_prefix: 'health_probes_https', cluster: probeCluster(https) },
        },
      ],
    });
  }
  if (http.length > 0) {
    const routes = http.map((p) => ({
      match: { path: `${PROBE_PATHS[kind]}/${p.container}` },
      route: { cluster: probeCluster(p), prefix_rewrite: p.path, timeout: `${p.timeoutSeconds}s` },
    }));
    filterChains.push({
      filters: [
        {
          name: 'envoy.filters.network.http_connection_manager',
          typed_config: {
            '@type': type('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager'),
            stat_prefix: 'health_probes_http',
            codec_type: 'AUTO',
            route_config: { name: 'local_route', virtual_hosts: [{ name: 'local_service', domains: ['*'], routes }] },
            http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': type('envoy.extensions.filters.http.router.v3.Router') } }],
          },
        },
      ],
    });
  }
  return {
    name: `${kind}_listener`,
    address: socketAddress('0.0.0.0', ENVOY_PROBE_PORTS[kind]),
    ...(https ? { listener_filters: [{ name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': type('envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector') } }] } : {}),
    filter_chains: filterChains,
  };
}

/** The Envoy bootstrap (proto3 JSON field names of envoy.config.bootstrap.v3.Bootstrap). */
export function envoyBootstrap(input: BootstrapInput): Record<string, unknown> {
  const listeners = PROBE_KINDS.map((kind) => probeListener(kind, input.probes.filter((p) => p.kind === kind))).filter((l) => l !== undefined);
  const probeClusters = input.probes.filter((p) => p.scheme !== 'TCP').map((p) => staticCluster(probeCluster(p), '127.0.0.1', p.port, 'STATIC'));
  const ads = (): Record<string, unknown> => ({ ads: {}, resource_api_version: 'V3' });
  return {
    node: { id: input.proxyUuid },
    admin: {
      access_log: [{ name: 'envoy.access_loggers.stream', typed_config: { '@type': type('envoy.extensions.access_loggers.stream.v3.StdoutAccessLog') } }],
      address: socketAddress('127.0.0.1', ENVOY_ADMIN_PORT),
    },
    dynamic_resources: {
      ads_config: {
        api_type: 'GRPC',
        transport_api_version: 'V3',
        grpc_services: [{ envoy_grpc: { cluster_name: CONTROLLER_CLUSTER, retry_policy: { retry_back_off: { base_interval: '0.25s', max_interval: '30s' } } } }],
        set_node_on_first_message_only: true,
      },
      cds_config: ads(),
      lds_config: ads(),
    },
    static_resources: {
      ...(listeners.length > 0 ? { listeners } : {}),
      clusters: [controllerCluster(input.controller, input.settings), ...probeClusters],
    },
  };
}

/** The SDS file naming the bootstrap certificate and key. */
export function tlsCertificateSds(): Record<string, unknown> {
  return {
    resources: [
      {
        '@type': type('envoy.extensions.transport_sockets.tls.v3.Secret'),
        name: TLS_SDS_SECRET,
        tls_certificate: { certificate_chain: { filename: `${ENVOY_CONFIG_DIR}/${XDS_CERT_FILE}` }, private_key: { filename: `${ENVOY_CONFIG_DIR}/${XDS_KEY_FILE}` } },
      },
    ],
  };
}

/** The SDS file naming the mesh root and the controller's name, which its certificate must carry. */
export function validationContextSds(controller: ControllerAddress): Record<string, unknown> {
  return {
    resources: [
      {
        '@type': type('envoy.extensions.transport_sockets.tls.v3.Secret'),
        name: VALIDATION_SDS_SECRET,
        validation_context: {
          trusted_ca: { filename: `${ENVOY_CONFIG_DIR}/${XDS_CA_FILE}` },
          match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: controller.serverName } }],
        },
      },
    ],
  };
}

/** The three configuration files of the bootstrap Secret, by Secret key (the certificate files come from the app). */
export function bootstrapConfigFiles(input: BootstrapInput): Readonly<Record<string, string>> {
  return {
    [BOOTSTRAP_FILE]: yamlText(envoyBootstrap(input)),
    [TLS_SDS_FILE]: yamlText(tlsCertificateSds()),
    [VALIDATION_SDS_FILE]: yamlText(validationContextSds(input.controller)),
  };
}
