// OSM's names on Kubernetes objects (labels, annotations, the MeshConfig), kept so that an OSM-meshed
// namespace works unchanged. Spelled here once; the informers, the catalog, the injector, the CLI and
// ca-bootstrap all read them from here.

/** Namespace label `openservicemesh.io/monitored-by=<mesh>`: the namespace belongs to that mesh. */
export const monitoredByLabel = 'openservicemesh.io/monitored-by';
/** Namespace (or pod) label `openservicemesh.io/ignore`: excluded from the mesh whatever else it says. */
export const ignoreLabel = 'openservicemesh.io/ignore';
/** Pod label `osm-proxy-uuid=<uuid>`: the sidecar's identity (Envoy node.id). */
export const proxyUuidLabel = 'osm-proxy-uuid';
/** Kubernetes' EndpointSlice label naming the Service the slice belongs to. */
export const serviceNameLabel = 'kubernetes.io/service-name';

/** Namespace or pod annotation `openservicemesh.io/sidecar-injection: enabled|disabled` (the pod's wins). */
export const sidecarInjectionAnnotation = 'openservicemesh.io/sidecar-injection';
/** Namespace annotation `openservicemesh.io/metrics: enabled`: proxies expose 15010 for Prometheus. */
export const metricsAnnotation = 'openservicemesh.io/metrics';
/**
 * Pod annotation `prometheus.io/scrape: "true"`: the sidecar serves its stats on 15010 for Prometheus (OSM
 * adds it to pods of namespaces with metrics enabled, and the controller follows the pod's annotation).
 */
export const prometheusScrapeAnnotation = 'prometheus.io/scrape';
/** Pod annotations `prometheus.io/port` and `prometheus.io/path`: where Prometheus scrapes the sidecar (15010, /stats/prometheus). */
export const prometheusPortAnnotation = 'prometheus.io/port';
export const prometheusPathAnnotation = 'prometheus.io/path';
/** Pod annotations with comma-separated exclusions for the iptables init container. */
export const outboundPortExclusionAnnotation = 'openservicemesh.io/outbound-port-exclusion-list';
export const inboundPortExclusionAnnotation = 'openservicemesh.io/inbound-port-exclusion-list';
export const outboundIpRangeExclusionAnnotation = 'openservicemesh.io/outbound-ip-range-exclusion-list';
export const outboundIpRangeInclusionAnnotation = 'openservicemesh.io/outbound-ip-range-inclusion-list';

/** The MeshConfig object in the control-plane namespace, and its API. */
export const meshConfigName = 'osm-mesh-config';
export const meshConfigApiVersion = 'config.openservicemesh.io/v1alpha2';
