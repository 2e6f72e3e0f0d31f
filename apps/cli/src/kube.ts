// The CLI's reads of the cluster (writes go through @osm/k8s-writes): the kubeconfig, the server's
// version, CRD establishment and Deployment readiness.
import { ApiextensionsV1Api, AppsV1Api, CoreV1Api, KubeConfig, VersionApi, type V1Deployment } from '@kubernetes/client-node';
import { statusCode } from '@osm/k8s-writes';
import { CliError } from './errors.ts';

/** KUBECONFIG or ~/.kube/config, else in-cluster. */
export function loadKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  try {
    kc.loadFromDefault();
  } catch (err) {
    throw new CliError('kube', `cannot load a kubeconfig: ${(err as Error).message}`, { cause: err });
  }
  if (!kc.getCurrentCluster()) throw new CliError('kube', 'no Kubernetes cluster configured: set KUBECONFIG or a current context in ~/.kube/config');
  return kc;
}

/** A failed API call as one line (`GET ...: 403 Forbidden: message`). */
export function kubeError(what: string, err: unknown): CliError {
  const code = statusCode(err);
  const body = (err as { body?: unknown }).body;
  let message = err instanceof Error ? err.message.split('\n')[0] ?? '' : String(err);
  if (typeof body === 'string') {
    try {
      message = (JSON.parse(body) as { message?: string }).message ?? message;
    } catch {
      // not a Status object
    }
  }
  return new CliError(code === 404 ? 'not-found' : 'kube', `${what}: ${code ? `HTTP ${code}: ` : ''}${message}`, { cause: err });
}

/**
 * The server's Kubernetes version for the chart's Capabilities.KubeVersion; undefined for a build that
 * does not know its version (v0.0.0 from source, as in tests), which leaves Helm's default.
 */
export async function serverVersion(kc: KubeConfig): Promise<string | undefined> {
  try {
    const { gitVersion } = await kc.makeApiClient(VersionApi).getCode();
    return /^v1\.\d+\./.test(gitVersion) ? gitVersion : undefined;
  } catch (err) {
    throw kubeError(`cannot reach the Kubernetes API at ${kc.getCurrentCluster()?.server}`, err);
  }
}

/** Waits until each CRD is Established and its resources are served (the API answers 429 until its storage is ready). */
export async function waitForCrds(kc: KubeConfig, names: readonly string[], deadline: number): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  for (const name of names) {
    for (;;) {
      const crd = await api.readCustomResourceDefinition({ name });
      if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new CliError('timeout', `CustomResourceDefinition ${name} was not established in time`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

export interface Readiness {
  readonly name: string;
  readonly ready: number;
  readonly wanted: number;
  readonly pods: number;
}

function readiness(d: V1Deployment, pods: number): Readiness {
  const wanted = d.spec?.replicas ?? 1;
  const current = (d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0);
  return { name: d.metadata?.name ?? '', ready: current ? Math.min(d.status?.updatedReplicas ?? 0, d.status?.availableReplicas ?? 0) : 0, wanted, pods };
}

export async function deploymentReadiness(kc: KubeConfig, namespace: string, names: readonly string[]): Promise<Readiness[]> {
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const out: Readiness[] = [];
  for (const name of names) {
    const d = await apps.readNamespacedDeployment({ name, namespace });
    const selector = Object.entries(d.spec?.selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
    const pods = (await core.listNamespacedPod({ namespace, labelSelector: selector })).items.length;
    out.push(readiness(d, pods));
  }
  return out;
}
