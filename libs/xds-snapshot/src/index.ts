// Public entry of @osm/xds-snapshot: pure (MeshModel, Proxy, inputs) -> Envoy snapshot with content-hash
// versions, a consistency check, a shared cache of encoded resources and a readable dump.
export { buildSnapshot, ResourceCache, RESOURCE_TYPES, snapshotOf, TYPE_URLS, typeVersion } from './snapshot.ts';
export type { EncodedResource, ResourceSet, ResourceType, Snapshot, SnapshotInputs } from './snapshot.ts';
export { checkConsistency, describeMissing } from './consistency.ts';
export type { ConsistencyResult, MissingReference } from './consistency.ts';
export { referencesOf } from './references.ts';
export type { References } from './references.ts';
export { decodeToJson, dumpSnapshot, snapshotToJson } from './dump.ts';
export { planProxy } from './plan.ts';
export type { ProxyPlan } from './plan.ts';
export {
  INBOUND_LISTENER,
  INBOUND_ROOT_CERT,
  inboundRouteName,
  localClusterName,
  OUTBOUND_LISTENER,
  outboundRootCertName,
  outboundRouteName,
  PROMETHEUS_LISTENER,
  SERVICE_CERT,
  upstreamClusterName,
} from './names.ts';
