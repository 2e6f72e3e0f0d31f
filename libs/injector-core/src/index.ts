// Public entry of @osm/injector-core: the sidecar injector as pure functions. No I/O, no clock, no
// randomness: the proxy uuid and the MeshConfig come in as values, the patch and bootstrap go out as data.
export { injectPod, type InjectInput, type InjectorOptions, type InjectResult, type PatchOperation } from './inject.ts';
export { readAdmissionReview, admissionReview, ADMISSION_API_VERSION, type Admission, type AdmissionRequest, type ReviewReading } from './admission.ts';
export { sidecarSettings, defaultSidecarSettings, type SidecarSettings, type SettingsResult } from './settings.ts';
export { envoyBootstrap, type ControllerAddress } from './bootstrap.ts';
export { mutatingWebhookConfiguration, FAILURE_POLICIES, type FailurePolicy, type WebhookConfigInput } from './webhook-config.ts';
export { bootstrapSecretData, bootstrapSecretLabels, type BootstrapCertificate } from './secret.ts';
export type { Namespace, Pod } from './types.ts';
export {
  APP_INSTANCE_LABEL,
  APP_NAME_LABEL,
  APP_NAME_VALUE,
  BOOTSTRAP_ADOPTED_LABEL,
  BOOTSTRAP_SECRET_PREFIX,
  INJECTOR_PORT,
  SYSTEM_NAMESPACES,
  WEBHOOK_NAME,
  WEBHOOK_PATH,
  XDS_CA_FILE,
  XDS_CERT_FILE,
  XDS_KEY_FILE,
  bootstrapSecretName,
} from './names.ts';
