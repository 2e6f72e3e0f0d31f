// The containers and the volume the injector adds (OSM: pkg/injector/envoy_container.go,
// init_container.go, volumes.go and the osm-healthcheck container of patch.go), field for field.
import { ENVOY_ADMIN_PORT, ENVOY_INBOUND_PORT, ENVOY_PROBE_PORTS, ENVOY_PROMETHEUS_PORT } from '@osm/mesh-model';
import {
  BOOTSTRAP_FILE,
  BOOTSTRAP_VOLUME_NAME,
  ENVOY_CONFIG_DIR,
  ENVOY_CONTAINER_NAME,
  ENVOY_UID,
  INIT_CONTAINER_NAME,
  bootstrapSecretName,
} from './names.ts';
import { HEALTHCHECK_CONTAINER_NAME, HEALTHCHECK_PORT, PROBE_KINDS, type OriginalProbe } from './probes.ts';
import type { SidecarSettings } from './settings.ts';

type Json = Record<string, unknown>;

const fieldEnv = (name: string, fieldPath: string): Json => ({ name, valueFrom: { fieldRef: { fieldPath } } });

export interface SidecarInput {
  readonly image: string;
  readonly settings: SidecarSettings;
  readonly serviceAccount: string;
  readonly namespace: string;
  readonly probes: readonly OriginalProbe[];
}

/** The `envoy` sidecar: UID 1500, no privilege escalation, the bootstrap read-only at /etc/envoy. */
export function envoyContainer(input: SidecarInput): Json {
  const ports: Json[] = [
    { name: 'proxy-admin', containerPort: ENVOY_ADMIN_PORT },
    { name: 'proxy-inbound', containerPort: ENVOY_INBOUND_PORT },
    { name: 'proxy-metrics', containerPort: ENVOY_PROMETHEUS_PORT },
  ];
  // A port per probe kind the sidecar serves (names at most 15 characters).
  for (const kind of PROBE_KINDS) {
    if (input.probes.some((p) => p.kind === kind && p.scheme !== 'TCP')) ports.push({ name: `${kind}-port`, containerPort: ENVOY_PROBE_PORTS[kind] });
  }
  return {
    name: ENVOY_CONTAINER_NAME,
    image: input.image,
    imagePullPolicy: 'IfNotPresent',
    securityContext: { allowPrivilegeEscalation: false, runAsUser: ENVOY_UID },
    ports,
    volumeMounts: [{ name: BOOTSTRAP_VOLUME_NAME, readOnly: true, mountPath: ENVOY_CONFIG_DIR }],
    command: ['envoy'],
    ...(input.settings.resources ? { resources: input.settings.resources } : {}),
    // --service-cluster names the proxy's service account for tracing, as OSM did.
    args: ['--log-level', input.settings.logLevel, '--config-path', `${ENVOY_CONFIG_DIR}/${BOOTSTRAP_FILE}`, '--service-cluster', `${input.serviceAccount}.${input.namespace}`],
    env: [
      fieldEnv('POD_UID', 'metadata.uid'),
      fieldEnv('POD_NAME', 'metadata.name'),
      fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
      fieldEnv('POD_IP', 'status.podIP'),
      fieldEnv('SERVICE_ACCOUNT', 'spec.serviceAccountName'),
    ],
  };
}

/** `osm-init`: runs the iptables script as root with NET_ADMIN; privileged only when MeshConfig asks. */
export function initContainer(image: string, settings: SidecarSettings, script: string): Json {
  return {
    name: INIT_CONTAINER_NAME,
    image,
    imagePullPolicy: 'IfNotPresent',
    securityContext: { privileged: settings.enablePrivilegedInitContainer, capabilities: { add: ['NET_ADMIN'] }, runAsNonRoot: false, runAsUser: 0 },
    command: ['/bin/sh'],
    args: ['-c', script],
    env: [{ name: 'POD_IP', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'status.podIP' } } }],
  };
}

/** OSM's osm-healthcheck container, added when a TCP probe was rewritten to go through it. */
export function healthcheckContainer(image: string): Json {
  return {
    name: HEALTHCHECK_CONTAINER_NAME,
    image,
    imagePullPolicy: 'IfNotPresent',
    args: ['--verbosity', 'info'],
    command: ['/osm-healthcheck'],
    ports: [{ containerPort: HEALTHCHECK_PORT }],
  };
}

/** The pod volume of the bootstrap Secret. */
export function bootstrapVolume(proxyUuid: string): Json {
  return { name: BOOTSTRAP_VOLUME_NAME, secret: { secretName: bootstrapSecretName(proxyUuid) } };
}
