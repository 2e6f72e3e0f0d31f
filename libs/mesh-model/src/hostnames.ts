import type { NamespacedName } from './types.ts';

/**
 * The host names a client in `clientNamespace` can call a service port by: OSM's list, in OSM's order
 * (pkg/compute/kube/client.go GetHostnamesForService), each name followed by its `:<port>` form:
 * `<svc>` (only from the service's own namespace: elsewhere a bare name resolves in the client's
 * namespace), `<svc>.<ns>`, `<svc>.<ns>.svc`, `<svc>.<ns>.svc.cluster`, `<svc>.<ns>.svc.<clusterDomain>`.
 * OSM wrote the FQDN with `cluster.local` always; we use the configured cluster domain, so with the
 * default the list is OSM's exactly. Inbound, a proxy answers every name (OSM passes localNamespace).
 */
export function hostnamesForClient(service: NamespacedName, port: number, clientNamespace: string, clusterDomain: string): string[] {
  const { name, namespace } = service;
  const hosts = [`${name}.${namespace}`, `${name}.${namespace}.svc`, `${name}.${namespace}.svc.cluster`, `${name}.${namespace}.svc.${clusterDomain}`];
  if (clientNamespace === namespace) hosts.unshift(name);
  // A cluster domain of just `cluster` would repeat OSM's `.svc.cluster` name; Envoy refuses duplicate domains.
  return [...new Set(hosts)].flatMap((host) => [host, `${host}:${port}`]);
}
