// The bootstrap Secret `envoy-bootstrap-config-<uuid>`: the configuration files and the proxy's
// bootstrap certificate under OSM's keys (pkg/injector/bootstrap.go marshalAndSaveBootstrap), labelled
// so the injector can find its Secrets and the proxy they belong to.
import { proxyUuidLabel } from '@osm/mesh-model';
import { APP_INSTANCE_LABEL, APP_NAME_LABEL, APP_NAME_VALUE, XDS_CA_FILE, XDS_CERT_FILE, XDS_KEY_FILE } from './names.ts';

export interface BootstrapCertificate {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
  /** The mesh root(s) the controller's certificate is checked against. */
  readonly trustBundlePem: string;
}

/** Every key of the bootstrap Secret. */
export function bootstrapSecretData(configFiles: Readonly<Record<string, string>>, certificate: BootstrapCertificate): Record<string, string> {
  return {
    ...configFiles,
    [XDS_CA_FILE]: certificate.trustBundlePem,
    [XDS_CERT_FILE]: certificate.certificatePem,
    [XDS_KEY_FILE]: certificate.privateKeyPem,
  };
}

/** OSM's labels on what it creates, plus the proxy's uuid. */
export function bootstrapSecretLabels(meshName: string, proxyUuid: string): Record<string, string> {
  return { [APP_NAME_LABEL]: APP_NAME_VALUE, [APP_INSTANCE_LABEL]: meshName, [proxyUuidLabel]: proxyUuid };
}
