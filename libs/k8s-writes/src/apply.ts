// Server-side apply: idempotent, and any number of replicas applying the same objects under one field
// manager agree instead of fighting (OSM's replicas overwrote each other's webhook caBundle).
import { KubernetesObjectApi, PatchStrategy, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';

export interface ApplyOptions {
  /** The field manager that owns the applied fields (one per component: `osm-ca-bootstrap`, `osm-injector`, ...). */
  readonly fieldManager: string;
  /** Take over fields another manager owns (default true: we are the source of truth for what we apply). */
  readonly force?: boolean;
  /** Server-side dry run: validated and admitted, not stored. */
  readonly dryRun?: boolean;
}

/** Applies each object in order with server-side apply; returns what the server stored (or would store). */
export async function serverSideApply(kubeConfig: KubeConfig, objects: readonly KubernetesObject[], options: ApplyOptions): Promise<KubernetesObject[]> {
  const api = KubernetesObjectApi.makeApiClient(kubeConfig);
  const out: KubernetesObject[] = [];
  for (const object of objects) {
    out.push(await api.patch(object, undefined, options.dryRun ? 'All' : undefined, options.fieldManager, options.force ?? true, PatchStrategy.ServerSideApply));
  }
  return out;
}
