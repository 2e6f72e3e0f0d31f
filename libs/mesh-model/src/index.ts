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
  MeshTracing,
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
  isDnsLabel,
  isDnsSubdomain,
  isProxyUuid,
  keyOf,
  parseKey,
  parseProxyCertCommonName,
  proxyCertCommonName,
  sameName,
  spiffeId,
  workloadSpiffePrefix,
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
export { meshTracing } from './tracing.ts';
export {
  ADS_PORT,
  ENVOY_ADMIN_PORT,
  ENVOY_INBOUND_PORT,
  ENVOY_OUTBOUND_PORT,
  ENVOY_PROBE_PORTS,
  ENVOY_PROMETHEUS_PATH,
  ENVOY_PROMETHEUS_PORT,
} from './envoy-ports.ts';
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
