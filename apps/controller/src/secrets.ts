// Which identity's certificate a secret name asks for: the ADS server refuses a proxy that asks for
// another identity's. OSM names a proxy's certificate `service-cert:<namespace>/<serviceaccount>`
// (pkg/envoy/secrets/secrets.go in OSM); a proxy asking for that name with another identity's
// namespace and service account is asking for that identity's certificate, whatever our own builder
// calls the certificate it serves. Other names (validation contexts) belong to no identity.
import { parseKey, type ServiceIdentity } from '@osm/mesh-model';

const OSM_CERT_PREFIX = 'service-cert:';

export function certificateOwner(name: string): ServiceIdentity | undefined {
  return name.startsWith(OSM_CERT_PREFIX) ? parseKey(name.slice(OSM_CERT_PREFIX.length)) : undefined;
}
