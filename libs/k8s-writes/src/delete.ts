// Deletes and JSON merge patches for the osm CLI (uninstall, namespace add/remove). Missing objects are
// an outcome, not an error: deleting twice is safe.
import { KubernetesObjectApi, PatchStrategy, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { statusCode } from './errors.ts';

export type DeleteOutcome = 'deleted' | 'absent';

/** Deletes each object (by apiVersion, kind, namespace and name), in order; 404 is `absent`. */
export async function deleteObjects(kubeConfig: KubeConfig, objects: readonly KubernetesObject[]): Promise<DeleteOutcome[]> {
  const api = KubernetesObjectApi.makeApiClient(kubeConfig);
  const out: DeleteOutcome[] = [];
  for (const object of objects) {
    try {
      await api.delete(object, undefined, undefined, undefined, undefined, 'Background');
      out.push('deleted');
    } catch (err) {
      if (statusCode(err) !== 404) throw err;
      out.push('absent');
    }
  }
  return out;
}

/** A JSON merge patch (RFC 7386: a null value removes the key) of one object; returns the stored object. */
export async function mergePatch(kubeConfig: KubeConfig, object: KubernetesObject): Promise<KubernetesObject> {
  const api = KubernetesObjectApi.makeApiClient(kubeConfig);
  return api.patch(object, undefined, undefined, undefined, undefined, PatchStrategy.MergePatch);
}
