import type { MeshService } from './types.ts';

/** The usual DNS names of a Service: `name`, `name.ns`, `name.ns.svc`, `name.ns.svc.<clusterDomain>`. */
export function defaultHostnames(namespace: string, name: string, clusterDomain = 'cluster.local'): string[] {
  return [name, `${name}.${namespace}`, `${name}.${namespace}.svc`, `${name}.${namespace}.svc.${clusterDomain}`];
}

/**
 * The names a client in `clientNamespace` can use for the service: all of them in the service's own
 * namespace; elsewhere only those with a dot (a bare name resolves in the client's own namespace).
 */
export function hostnamesForClient(service: MeshService, clientNamespace: string): string[] {
  if (clientNamespace === service.namespace) return [...service.hostnames];
  return service.hostnames.filter((h) => h.includes('.'));
}
