// CertificateRequestClient over the Kubernetes API: cert-manager.io/v1 CertificateRequest objects.
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { CertificateRequestClient, CertificateRequestSpec, CertificateRequestState } from '@osm/certificates';
import { statusCode } from './errors.ts';

const ref = { group: 'cert-manager.io', version: 'v1', plural: 'certificaterequests' } as const;

interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

interface CertificateRequestObject {
  status?: { certificate?: string; ca?: string; conditions?: Condition[] };
}

/** Go duration with whole seconds, as cert-manager's spec.duration expects. */
const goDuration = (ms: number): string => `${Math.max(1, Math.round(ms / 1000))}s`;

export class KubeCertificateRequestClient implements CertificateRequestClient {
  readonly #api: CustomObjectsApi;

  constructor(kubeConfig: KubeConfig) {
    this.#api = kubeConfig.makeApiClient(CustomObjectsApi);
  }

  async create(request: CertificateRequestSpec): Promise<void> {
    await this.#api.createNamespacedCustomObject({
      ...ref,
      namespace: request.namespace,
      body: {
        apiVersion: 'cert-manager.io/v1',
        kind: 'CertificateRequest',
        metadata: { name: request.name, namespace: request.namespace, labels: { ...request.labels } },
        spec: {
          request: Buffer.from(request.csrPem).toString('base64'),
          duration: goDuration(request.durationMs),
          isCA: false,
          usages: [...request.usages],
          issuerRef: { name: request.issuerRef.name, kind: request.issuerRef.kind ?? 'Issuer', group: request.issuerRef.group ?? 'cert-manager.io' },
        },
      },
    });
  }

  async get(namespace: string, name: string): Promise<CertificateRequestState | undefined> {
    let object: CertificateRequestObject;
    try {
      object = (await this.#api.getNamespacedCustomObject({ ...ref, namespace, name })) as CertificateRequestObject;
    } catch (err) {
      if (statusCode(err) === 404) return undefined;
      throw err;
    }
    const conditions = object.status?.conditions ?? [];
    const ready = conditions.find((c) => c.type === 'Ready');
    const denied = conditions.find((c) => c.type === 'Denied' && c.status === 'True');
    const failure = denied
      ? `Denied: ${denied.message ?? denied.reason ?? ''}`
      : ready?.status === 'False' && ready.reason === 'Failed'
        ? `Failed: ${ready.message ?? ''}`
        : undefined;
    const certificate = object.status?.certificate;
    const ca = object.status?.ca;
    return {
      ready: ready?.status === 'True',
      ...(failure ? { failure } : {}),
      ...(certificate ? { certificatePem: Buffer.from(certificate, 'base64').toString('utf8') } : {}),
      ...(ca ? { caPem: Buffer.from(ca, 'base64').toString('utf8') } : {}),
    };
  }

  async delete(namespace: string, name: string): Promise<void> {
    try {
      await this.#api.deleteNamespacedCustomObject({ ...ref, namespace, name });
    } catch (err) {
      if (statusCode(err) !== 404) throw err;
    }
  }
}
