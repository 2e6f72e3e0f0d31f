// The injector's fixed names, ports and paths, kept as OSM spelled them so that a pod meshed by OSM and
// one meshed by us look the same (OSM: pkg/constants/constants.go, pkg/injector/types.go,
// pkg/injector/webhook.go, pkg/envoy/bootstrap/config.go).

/** The sidecar's user id: iptables lets its own traffic through by this owner (OSM's EnvoyUID). */
export const ENVOY_UID = 1500;

export const ENVOY_CONTAINER_NAME = 'envoy';
export const INIT_CONTAINER_NAME = 'osm-init';
export const BOOTSTRAP_VOLUME_NAME = 'envoy-bootstrap-config-volume';
/** Where the bootstrap Secret is mounted in the sidecar. */
export const ENVOY_CONFIG_DIR = '/etc/envoy';

/** The bootstrap Secret of proxy `<uuid>` is `envoy-bootstrap-config-<uuid>` in the pod's namespace. */
export const BOOTSTRAP_SECRET_PREFIX = 'envoy-bootstrap-config-';
export function bootstrapSecretName(proxyUuid: string): string {
  return `${BOOTSTRAP_SECRET_PREFIX}${proxyUuid}`;
}

/**
 * Label the injector sets on a bootstrap Secret once it has made the Secret's pod its owner (so that
 * Kubernetes' garbage collector deletes it with the pod); Secrets without it are the ones to check.
 */
export const BOOTSTRAP_ADOPTED_LABEL = 'openservicemesh.io/bootstrap-adopted';

/** The bootstrap Secret's keys (OSM's file names, pkg/envoy/bootstrap/config.go). */
export const BOOTSTRAP_FILE = 'bootstrap.yaml';
export const TLS_SDS_FILE = 'tls_certificate_sds_secret.yaml';
export const VALIDATION_SDS_FILE = 'validation_context_sds_secret.yaml';
export const XDS_CA_FILE = 'cacert.pem';
export const XDS_CERT_FILE = 'sds_cert.pem';
export const XDS_KEY_FILE = 'sds_key.pem';

/** The webhook's path on the injector's HTTPS server and its name in the webhook configuration. */
export const WEBHOOK_PATH = '/mutate-pod-creation';
export const WEBHOOK_NAME = 'osm-inject.k8s.io';
export const INJECTOR_PORT = 9090;

/** Labels OSM puts on what it creates; control-plane pods carry `app.kubernetes.io/name=openservicemesh.io`. */
export const APP_NAME_LABEL = 'app.kubernetes.io/name';
export const APP_NAME_VALUE = 'openservicemesh.io';
export const APP_INSTANCE_LABEL = 'app.kubernetes.io/instance';

/** Namespaces never meshed besides the control plane's own. */
export const SYSTEM_NAMESPACES: readonly string[] = ['kube-system', 'kube-public'];
