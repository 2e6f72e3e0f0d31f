// A KubeSource over plain stores (the informers' Store).
import { objectKey, Store, type KubeObject } from '@osm/k8s-informers';
import type { MeshModel } from '@osm/mesh-model';
import type { KubeObjects } from '../src/kube-types.ts';
import type { KubeSource } from '../src/source.ts';

export type Kind = keyof KubeObjects;
export const kinds: readonly Kind[] = ['namespaces', 'services', 'pods', 'endpointSlices', 'serviceAccounts', 'trafficTargets', 'httpRouteGroups', 'tcpRoutes', 'trafficSplits', 'meshConfigs'];

export class StoreSource implements KubeSource {
  readonly stores = new Map<Kind, Store<KubeObject>>(kinds.map((k) => [k, new Store<KubeObject>()]));
  readonly #listeners = new Set<(kind: string) => void>();

  objects(): KubeObjects {
    const list = (k: Kind): never => (this.stores.get(k)?.list() ?? []) as never;
    return {
      namespaces: list('namespaces'),
      services: list('services'),
      pods: list('pods'),
      endpointSlices: list('endpointSlices'),
      serviceAccounts: list('serviceAccounts'),
      trafficTargets: list('trafficTargets'),
      httpRouteGroups: list('httpRouteGroups'),
      tcpRoutes: list('tcpRoutes'),
      trafficSplits: list('trafficSplits'),
      meshConfigs: list('meshConfigs'),
    };
  }
  subscribe(onChange: (kind: string) => void): () => void {
    this.#listeners.add(onChange);
    return () => this.#listeners.delete(onChange);
  }
  waitForSync(): Promise<void> {
    return Promise.resolve();
  }
  put(kind: Kind, obj: KubeObject): void {
    this.stores.get(kind)?.set(objectKey(obj), obj);
    for (const l of this.#listeners) l(kind);
  }
  remove(kind: Kind, key: string): void {
    this.stores.get(kind)?.delete(key);
    for (const l of this.#listeners) l(kind);
  }
  load(objects: KubeObjects): void {
    for (const k of kinds) for (const o of objects[k]) this.put(k, o);
  }
}

/** A model as text with every map in its iteration order: equal text means equal content and equal order. */
export function modelText(model: MeshModel | undefined): string {
  return JSON.stringify(model, (_k, v: unknown) => (v instanceof Map ? [...v.entries()] : v));
}
