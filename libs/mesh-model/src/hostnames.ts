import type { NamespacedName } from './types.ts';

/**
 * The host names a client in `clientNamespace` can call a service by, as OSM lists them
 * (pkg/compute/kube/client.go GetHostnamesForService): `<svc>.<ns>`, `<svc>.<ns>.svc`,
 * `<svc>.<ns>.svc.<clusterDomain>`, and the bare `<svc>` only from the service's own namespace (a bare
 * name resolves in the client's namespace). Route configurations add each with `:<port>`. OSM also
 * listed `<svc>.<ns>.svc.cluster`, which no cluster DNS resolves; we leave it out.
 */
export function hostnamesForClient(service: NamespacedName, clientNamespace: string, clusterDomain: string): string[] {
  const { name, namespace } = service;
  const qualified = [`${name}.${namespace}`, `${name}.${namespace}.svc`, `${name}.${namespace}.svc.${clusterDomain}`];
  return clientNamespace === namespace ? [name, ...qualified] : qualified;
}
