// The Kubernetes side of ca-bootstrap: a SecretStore for the certificate providers, server-side apply of
// the CRDs, and the default MeshConfig.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiException, CoreV1Api, KubernetesObjectApi, loadAllYaml, PatchStrategy, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { NewSecret, SecretStore, StoredSecret } from '@osm/certificates';

export const FIELD_MANAGER = 'osm-ca-bootstrap';

export function statusCode(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

export class KubeSecretStore implements SecretStore {
  readonly #core: CoreV1Api;

  constructor(kubeConfig: KubeConfig) {
    this.#core = kubeConfig.makeApiClient(CoreV1Api);
  }

  async get(namespace: string, name: string): Promise<StoredSecret | undefined> {
    try {
      const secret = await this.#core.readNamespacedSecret({ name, namespace });
      const data = Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
      return { namespace, name, data, ...(secret.metadata?.resourceVersion ? { resourceVersion: secret.metadata.resourceVersion } : {}) };
    } catch (err) {
      if (statusCode(err) === 404) return undefined;
      throw err;
    }
  }

  async create(secret: NewSecret): Promise<'created' | 'exists'> {
    try {
      await this.#core.createNamespacedSecret({
        namespace: secret.namespace,
        body: {
          apiVersion: 'v1',
          kind: 'Secret',
          type: 'Opaque',
          metadata: { name: secret.name, namespace: secret.namespace, labels: { ...secret.labels } },
          data: Object.fromEntries(Object.entries(secret.data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
        },
      });
      return 'created';
    } catch (err) {
      if (statusCode(err) === 409) return 'exists';
      throw err;
    }
  }
}

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

/** Server-side apply: idempotent, and several replicas applying the same manifests never conflict. */
export async function applyManifests(kubeConfig: KubeConfig, objects: readonly KubernetesObject[]): Promise<void> {
  const api = KubernetesObjectApi.makeApiClient(kubeConfig);
  for (const object of objects) {
    await api.patch(object, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
  }
}

export const MESH_CONFIG_NAME = 'osm-mesh-config';

/** OSM's default MeshConfig (its chart's preset-mesh-config), with OSM's field names. */
export function defaultMeshConfig(namespace: string): KubernetesObject & { spec: Record<string, unknown> } {
  return {
    apiVersion: 'config.openservicemesh.io/v1alpha2',
    kind: 'MeshConfig',
    metadata: { name: MESH_CONFIG_NAME, namespace, labels: { 'app.kubernetes.io/name': 'openservicemesh.io' } },
    spec: {
      sidecar: { enablePrivilegedInitContainer: false, logLevel: 'error', maxDataPlaneConnections: 0, configResyncInterval: '0s', localProxyMode: 'Localhost' },
      traffic: {
        enableEgress: false,
        enablePermissiveTrafficPolicyMode: true,
        outboundPortExclusionList: [],
        inboundPortExclusionList: [],
        outboundIPRangeExclusionList: [],
        outboundIPRangeInclusionList: [],
        networkInterfaceExclusionList: [],
      },
      observability: { enableDebugServer: false, osmLogLevel: 'info', tracing: { enable: false } },
      certificate: { serviceCertValidityDuration: '24h', certKeyBitSize: 2048 },
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
  const object = await api.read({ apiVersion: 'config.openservicemesh.io/v1alpha2', kind: 'MeshConfig', metadata: { name: MESH_CONFIG_NAME, namespace } });
  return { created, object: object as KubernetesObject & { spec?: Record<string, unknown> } };
}
