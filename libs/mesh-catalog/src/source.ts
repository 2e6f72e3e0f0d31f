import type { Informer, KubeObject, MeshInformers } from '@osm/k8s-informers';
import type { KubeObjects } from './kube-types.ts';

/** Where the catalog reads Kubernetes objects from: the informers in production, plain lists in tests. */
export interface KubeSource {
  /** Every object as it is now. */
  objects(): KubeObjects;
  /** `onChange` runs after any object was added, updated or deleted; returns an unsubscribe function. */
  subscribe(onChange: (kind: string) => void): () => void;
  /** Resolves once every collection has been listed. */
  waitForSync(signal?: AbortSignal): Promise<void>;
}

/** A KubeSource over the mesh informers. */
export function informerSource(informers: MeshInformers): KubeSource {
  const list = <T extends KubeObject>(inf: Informer<KubeObject>): T[] => inf.list() as T[];
  return {
    objects: () => ({
      namespaces: list(informers.namespaces),
      services: list(informers.services),
      pods: list(informers.pods),
      endpointSlices: list(informers.endpointSlices),
      serviceAccounts: list(informers.serviceAccounts),
      trafficTargets: list(informers.trafficTargets),
      httpRouteGroups: list(informers.httpRouteGroups),
      tcpRoutes: list(informers.tcpRoutes),
      trafficSplits: list(informers.trafficSplits),
      meshConfigs: list(informers.meshConfigs),
    }),
    subscribe(onChange) {
      const offs = informers.all().map((inf) => {
        const changed = (): void => onChange(inf.name);
        return inf.addHandler({ onAdd: changed, onUpdate: changed, onDelete: changed });
      });
      return () => {
        for (const off of offs) off();
      };
    },
    waitForSync: (signal) => informers.waitForSync(signal),
  };
}
