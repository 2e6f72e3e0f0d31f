// Public entry of @osm/mesh-model: immutable plain-data types of the mesh and pure helpers over them.
export type {
  Endpoint,
  HTTPRouteGroup,
  HttpRouteMatch,
  IdentityRef,
  MeshModel,
  MeshNamespace,
  MeshService,
  MeshSettings,
  NamespacedName,
  Protocol,
  Proxy,
  ProxyIdentity,
  ServiceIdentity,
  ServicePort,
  ServiceRef,
  TCPRoute,
  TcpRouteMatch,
  TrafficSplit,
  TrafficSplitBackend,
  TrafficTarget,
  TrafficTargetRule,
} from './types.ts';
export {
  certCommonName,
  compareNamespacedNames,
  compareStrings,
  keyOf,
  parseKey,
  parseProxyCertCommonName,
  proxyCertCommonName,
  sameName,
  spiffeId,
} from './identity.ts';
export { PROTOCOLS, isProtocol, protocolOfPort } from './protocol.ts';
export { hostnamesForClient } from './hostnames.ts';
export {
  defaultMeshSettings,
  meshModel,
  outboundServices,
  readyEndpoints,
  servicesOfProxy,
  trafficSplitForApex,
  trafficTargetsTo,
  type MeshModelParts,
} from './model.ts';
export { parseGoDuration } from './duration.ts';
export {
  ignoreLabel,
  inboundPortExclusionAnnotation,
  meshConfigApiVersion,
  meshConfigName,
  metricsAnnotation,
  monitoredByLabel,
  outboundIpRangeExclusionAnnotation,
  outboundIpRangeInclusionAnnotation,
  outboundPortExclusionAnnotation,
  prometheusScrapeAnnotation,
  proxyUuidLabel,
  serviceNameLabel,
  sidecarInjectionAnnotation,
} from './kube-names.ts';
