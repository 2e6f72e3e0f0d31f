// The sidecar's well-known ports and paths, as OSM spelled them (OSM: pkg/constants/constants.go).
// The injector writes them into the pod (container ports, iptables rules, the bootstrap, probe
// rewrites) and the controller's snapshot builder into the listeners: spelled here once so the two
// sides cannot drift apart.

/** Envoy's admin interface, on 127.0.0.1 only (OSM's EnvoyAdminPort). */
export const ENVOY_ADMIN_PORT = 15000;
/** Where iptables redirects the pod's outbound traffic: the outbound listener (OSM's EnvoyOutboundListenerPort). */
export const ENVOY_OUTBOUND_PORT = 15001;
/** Where iptables redirects the pod's inbound traffic: the inbound mTLS listener (OSM's EnvoyInboundListenerPort). */
export const ENVOY_INBOUND_PORT = 15003;
/** The listener that serves Envoy's stats to Prometheus (OSM's EnvoyPrometheusInboundListenerPort). */
export const ENVOY_PROMETHEUS_PORT = 15010;
/** The path of Envoy's stats in Prometheus format, on the admin port and on the Prometheus listener. */
export const ENVOY_PROMETHEUS_PATH = '/stats/prometheus';
/** Plain-HTTP ports the sidecar serves rewritten pod probes on, per probe kind (OSM's Liveness/Readiness/StartupProbePort). */
export const ENVOY_PROBE_PORTS = { liveness: 15901, readiness: 15902, startup: 15903 } as const;
/** The controller's ADS server, which every sidecar's bootstrap dials (OSM's ADSServerPort). */
export const ADS_PORT = 15128;
