import type { NamespacedName, ProxyIdentity, ServiceIdentity } from './types.ts';

/** `namespace/name`: the key of namespaced objects in MeshModel maps. */
export function keyOf(ref: NamespacedName): string {
  return `${ref.namespace}/${ref.name}`;
}

/** Inverse of keyOf; undefined unless the key is exactly `<namespace>/<name>` with both parts non-empty. */
export function parseKey(key: string): NamespacedName | undefined {
  const slash = key.indexOf('/');
  if (slash <= 0 || slash === key.length - 1 || key.indexOf('/', slash + 1) !== -1) return undefined;
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** Orders namespaced objects by namespace, then name (plain code-unit order, locale-independent). */
export function compareNamespacedNames(a: NamespacedName, b: NamespacedName): number {
  return compareStrings(a.namespace, b.namespace) || compareStrings(a.name, b.name);
}

/** Code-unit string order, the same on every machine and locale. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** True when both refer to the same namespace/name. */
export function sameName(a: NamespacedName, b: NamespacedName): boolean {
  return a.namespace === b.namespace && a.name === b.name;
}

/** Service certificate CN (and DNS SAN): `<sa>.<ns>.<trustDomain>`. */
export function certCommonName(identity: ServiceIdentity, trustDomain: string): string {
  return `${identity.name}.${identity.namespace}.${trustDomain}`;
}

/** Service certificate URI SAN: `spiffe://<trustDomain>/ns/<ns>/sa/<sa>`. */
export function spiffeId(identity: ServiceIdentity, trustDomain: string): string {
  return `spiffe://${trustDomain}/ns/${identity.namespace}/sa/${identity.name}`;
}

/** xDS client (bootstrap) certificate CN: `<uuid>.sidecar.<sa>.<ns>.<trustDomain>`. */
export function proxyCertCommonName(proxy: ProxyIdentity, trustDomain: string): string {
  return `${proxy.uuid}.sidecar.${proxy.identity.name}.${proxy.identity.namespace}.${trustDomain}`;
}

/**
 * Reads a proxy identity from an xDS client certificate CN made by proxyCertCommonName; undefined when
 * the CN does not have that shape or names another trust domain. (UUIDs, service-account and namespace
 * names contain no dots, so the split is unambiguous.)
 */
export function parseProxyCertCommonName(cn: string, trustDomain: string): ProxyIdentity | undefined {
  const suffix = `.${trustDomain}`;
  if (!cn.endsWith(suffix)) return undefined;
  const parts = cn.slice(0, -suffix.length).split('.');
  if (parts.length !== 4 || parts[1] !== 'sidecar') return undefined;
  const [uuid, , name, namespace] = parts as [string, string, string, string];
  if (!uuid || !name || !namespace) return undefined;
  return { uuid, identity: { namespace, name } };
}
