// The Kubernetes side of ca-bootstrap: the CRD manifests, their server-side apply, and the default MeshConfig.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubernetesObjectApi, loadAllYaml, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { serverSideApply, statusCode } from '@osm/k8s-writes';
import { meshConfigApiVersion, meshConfigName } from '@osm/mesh-model';

export const FIELD_MANAGER = 'osm-ca-bootstrap';

/**
 * Every document of every *.yaml file in `dir`, in file-name order, as the client's typed models.
 * (The client serializes known kinds from its models: a plain parsed object would lose the fields whose
 * JSON names differ from the model's, such as x-kubernetes-preserve-unknown-fields.)
 */
export function readManifests(dir: string): KubernetesObject[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort();
  return files.flatMap((f) => (loadAllYaml(readFileSync(join(dir, f), 'utf8')) as (KubernetesObject | null)[]).filter((o): o is KubernetesObject => o !== null && typeof o === 'object'));
}

/** Server-side apply under ca-bootstrap's field manager: idempotent, replicas never conflict. */
export async function applyManifests(kubeConfig: KubeConfig, objects: readonly KubernetesObject[]): Promise<void> {
  await serverSideApply(kubeConfig, objects, { fieldManager: FIELD_MANAGER });
}

/**
 * The MeshConfig OSM's Helm chart creates with its default values (charts/osm/templates/preset-mesh-config.yaml
 * filled from charts/osm/values.yaml), field for field: permissive traffic policy mode on and egress on, as
 * OSM users have it. Tracing is off, so its address, port and endpoint are left out, as the chart does;
 * certificate.ingressGateway exists only with the chart's Contour add-on and is left out too.
 * Our chart renders the same preset from its values (deploy/chart/osm/templates/preset-mesh-config.yaml),
 * which users change with --set; apps/cli/test/cluster.spec.ts runs this app and checks that what it
 * creates equals the chart's preset with default values, so the two cannot drift apart.
 */
export function defaultMeshConfig(namespace: string): KubernetesObject & { spec: Record<string, unknown> } {
  return {
    apiVersion: meshConfigApiVersion,
    kind: 'MeshConfig',
    metadata: { name: meshConfigName, namespace, labels: { 'app.kubernetes.io/name': 'openservicemesh.io' } },
    spec: {
      sidecar: { enablePrivilegedInitContainer: false, logLevel: 'error', maxDataPlaneConnections: 0, configResyncInterval: '0s', localProxyMode: 'Localhost' },
      traffic: {
        enableEgress: true,
        enablePermissiveTrafficPolicyMode: true,
        outboundPortExclusionList: [],
        inboundPortExclusionList: [],
        outboundIPRangeExclusionList: [],
        outboundIPRangeInclusionList: [],
        networkInterfaceExclusionList: [],
      },
      observability: { enableDebugServer: false, osmLogLevel: 'info', tracing: { enable: false } },
      certificate: { serviceCertValidityDuration: '24h', certKeyBitSize: 2048 },
      featureFlags: {
        enableWASMStats: true,
        enableSnapshotCacheMode: false,
        enableAsyncProxyServiceMapping: false,
        enableIngressBackendPolicy: true,
        enableEnvoyActiveHealthChecks: false,
        enableRetryPolicy: false,
        enableMeshRootCertificate: false,
      },
    },
  };
}

/** Creates the default MeshConfig unless one exists (never overwrites); returns the stored object. */
export async function ensureMeshConfig(kubeConfig: KubeConfig, namespace: string): Promise<{ created: boolean; object: KubernetesObject & { spec?: Record<string, unknown> } }> {
  const api = KubernetesObjectApi.makeApiClient(kubeConfig);
  let created = false;
  try {
    await api.create(defaultMeshConfig(namespace), undefined, undefined, FIELD_MANAGER);
    created = true;
  } catch (err) {
    if (statusCode(err) !== 409) throw err;
  }
  const object = await api.read({ apiVersion: meshConfigApiVersion, kind: 'MeshConfig', metadata: { name: meshConfigName, namespace } });
  return { created, object: object as KubernetesObject & { spec?: Record<string, unknown> } };
}
