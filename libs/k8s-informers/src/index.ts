// Public entry of @osm/k8s-informers.
export { Informer, type InformerOptions, type InformerStats, type ResourceEventHandler, type BackoffOptions } from './informer.ts';
export { Store, byNamespace, type Indexers, type StoreReader } from './store.ts';
export { objectKey, prepareObject } from './object.ts';
export { KubeApiError, InformerOptionError, errorFromStatus, isGone, type KubeApiErrorCode } from './errors.ts';
export { kubeListWatchClient, type KubeListWatchClientOptions } from './kube-client.ts';
export {
  MeshInformers,
  kindPaths,
  namespacedKinds,
  indexNames,
  type MeshInformersOptions,
  type NamespacedKind,
} from './mesh-informers.ts';
export type {
  InformerLogger,
  KubeObject,
  ListPage,
  ListRequest,
  ListWatchClient,
  ObjectMeta,
  WatchCallbacks,
  WatchEvent,
  WatchEventType,
  WatchHandle,
  WatchRequest,
} from './types.ts';
