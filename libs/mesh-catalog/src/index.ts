// Public entry of @osm/mesh-catalog: the one translator from Kubernetes objects to the mesh model.
export { translate, Translator, serviceIdentities, type TranslateOptions, type Translation } from './translate.ts';
export type { MeshProblem } from './problems.ts';
export { diffModels, changedKeys, equalData, type ModelDiff } from './affected.ts';
export { MeshCatalog, type MeshCatalogOptions, type CatalogBatch, type CatalogListener } from './catalog.ts';
export { Coalescer } from './coalescer.ts';
export { informerSource, type KubeSource } from './source.ts';
export { CatalogError, type CatalogErrorCode } from './errors.ts';
export type {
  KubeObjects,
  K8sNamespace,
  K8sService,
  K8sServicePort,
  K8sPod,
  K8sEndpointSlice,
  K8sServiceAccount,
  K8sTrafficTarget,
  K8sHTTPRouteGroup,
  K8sTCPRoute,
  K8sTrafficSplit,
  K8sMeshConfig,
} from './kube-types.ts';
