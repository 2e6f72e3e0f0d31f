// Wire names kept from OSM (MISSION.md section 3) and Envoy's filter and type names.
import type { NamespacedName } from '@osm/mesh-model';

export const OUTBOUND_LISTENER = 'outbound-listener';
export const INBOUND_LISTENER = 'inbound-listener';
export const PROMETHEUS_LISTENER = 'inbound-prometheus-listener';
export const METRICS_CLUSTER = 'envoy-metrics-cluster';
export const PASSTHROUGH_CLUSTER = 'passthrough-outbound';
/** The cluster of the Zipkin collector the sidecars send spans to when MeshConfig tracing is on (OSM's EnvoyTracingCluster). */
export const TRACING_CLUSTER = 'envoy-tracing-cluster';
export const INBOUND_ROOT_CERT = 'root-cert-for-mtls-inbound';
/** ALPN that in-mesh clients advertise and inbound filter chains require (OSM's `osm`). */
export const ALPN_IN_MESH = 'osm';

/** Route configuration of the outbound listener's HTTP filter chains for one service port: `rds-outbound.<port>` (OSM). */
export const outboundRouteName = (port: number): string => `rds-outbound.${port}`;
/** Route configuration of the inbound listener's HTTP filter chains for one pod port: `rds-inbound.<targetPort>` (OSM). */
export const inboundRouteName = (targetPort: number): string => `rds-inbound.${targetPort}`;
/** Upstream (EDS) cluster of a service's pod port: `<ns>/<svc>|<targetPort>` (OSM's pkg/service/types.go EnvoyClusterName). */
export const upstreamClusterName = (svc: NamespacedName, targetPort: number): string => `${svc.namespace}/${svc.name}|${targetPort}`;
/** Local cluster that the inbound listener forwards a service's pod port to: `<ns>/<svc>|<targetPort>|local`. */
export const localClusterName = (svc: NamespacedName, targetPort: number): string => `${svc.namespace}/${svc.name}|${targetPort}|local`;
/**
 * The secret holding the proxy's own service certificate. One name for every proxy (OSM used
 * `service-cert:<ns>/<sa>`): each proxy receives its own identity's certificate under it over SDS, and
 * the resources that refer to it (upstream clusters, inbound filter chains) are the same bytes for
 * every proxy, so they are encoded once and shared.
 */
export const SERVICE_CERT = 'service-cert';
/** Validation context for an upstream service: `root-cert-for-mtls-outbound:<ns>/<svc>`. */
export const outboundRootCertName = (svc: NamespacedName): string => `root-cert-for-mtls-outbound:${svc.namespace}/${svc.name}`;
/** TLS server name of a service, which clients send as SNI and inbound filter chains match. */
export const serverName = (svc: NamespacedName, clusterDomain: string): string => `${svc.name}.${svc.namespace}.svc.${clusterDomain}`;

export const FILTER = {
  originalDst: 'envoy.filters.listener.original_dst',
  tlsInspector: 'envoy.filters.listener.tls_inspector',
  httpConnectionManager: 'envoy.filters.network.http_connection_manager',
  tcpProxy: 'envoy.filters.network.tcp_proxy',
  networkRbac: 'envoy.filters.network.rbac',
  httpRbac: 'envoy.filters.http.rbac',
  router: 'envoy.filters.http.router',
  tlsTransportSocket: 'envoy.transport_sockets.tls',
  httpProtocolOptions: 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
  zipkinTracer: 'envoy.tracers.zipkin',
} as const;
