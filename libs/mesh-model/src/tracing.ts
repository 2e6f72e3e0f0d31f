// MeshConfig `observability.tracing`: where every sidecar sends its Zipkin spans. OSM's defaults for
// the fields left empty (OSM: pkg/constants/constants.go DefaultTracingHost/Port/Endpoint,
// pkg/utils/mesh_config.go GetTracingHost/Port/Endpoint).
import type { MeshTracing } from './types.ts';

/** The collector's Zipkin port when `port` is not set (OSM's DefaultTracingPort). */
const DEFAULT_TRACING_PORT = 9411;
/** The collector's span API path when `endpoint` is not set (OSM's DefaultTracingEndpoint: Zipkin v2 JSON). */
const DEFAULT_TRACING_ENDPOINT = '/api/v2/spans';

/**
 * The tracing settings of an enabled MeshConfig `observability.tracing`, each empty field (`''` or `0`,
 * Go's zero values, which OSM tested for) replaced by OSM's default. The default address is the
 * `jaeger` Service in the control plane's namespace (the MeshConfig's own):
 * `jaeger.<namespace>.svc.<clusterDomain>`. OSM wrote `svc.cluster.local` whatever the cluster's
 * domain; with the default domain the two are the same.
 */
export function meshTracing(fields: MeshTracing, namespace: string, clusterDomain: string): MeshTracing {
  return {
    address: fields.address || `jaeger.${namespace}.svc.${clusterDomain}`,
    port: fields.port || DEFAULT_TRACING_PORT,
    endpoint: fields.endpoint || DEFAULT_TRACING_ENDPOINT,
  };
}
