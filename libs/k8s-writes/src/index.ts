// Public entry of @osm/k8s-writes: every write the apps make to the Kubernetes API goes through here
// (the libs that read, k8s-informers and mesh-catalog, never write).
export { statusCode } from './errors.ts';
export { backoffMs, retryUntilDone, type RetryLogger } from './retry.ts';
export { KubeSecretStore, KubeWriteError } from './secrets.ts';
export { serverSideApply, type ApplyOptions } from './apply.ts';
export { deleteObjects, mergePatch, type DeleteOutcome } from './delete.ts';
export { KubeEventRecorder, type EventRecorder, type EventType, type InvolvedObject, type KubeEventRecorderOptions } from './events.ts';
export { KubeCertificateRequestClient } from './cert-manager.ts';
export {
  CA_PROVIDERS,
  rootCAProvider,
  rootCaFlagSpecs,
  rootCaFlagsUsage,
  rootProviderOptionsFromFlags,
  type CaProviderKind,
  type RootProviderOptions,
} from './root-provider.ts';
