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

/**
 * The URI SAN prefix of every workload (service) certificate of a trust domain: `spiffe://<td>/ns/`.
 * A bootstrap certificate's URI (`spiffe://<td>/<uuid>/sidecar/<sa>/<ns>`) never starts with it.
 */
export function workloadSpiffePrefix(trustDomain: string): string {
  return `spiffe://${trustDomain}/ns/`;
}

/** xDS client (bootstrap) certificate CN: `<uuid>.sidecar.<sa>.<ns>.<trustDomain>`. */
export function proxyCertCommonName(proxy: ProxyIdentity, trustDomain: string): string {
  return `${proxy.uuid}.sidecar.${proxy.identity.name}.${proxy.identity.namespace}.${trustDomain}`;
}

/**
 * xDS client (bootstrap) certificate URI SAN, OSM's form: `spiffe://<trustDomain>/<uuid>/sidecar/<sa>/<ns>`.
 * Only a bootstrap certificate carries it; the ADS server requires it next to the CN, because a service
 * account named `<uuid>.sidecar.<sa>` gives a service certificate a CN of the bootstrap shape.
 */
export function proxySpiffeId(proxy: ProxyIdentity, trustDomain: string): string {
  return `spiffe://${trustDomain}/${proxy.uuid}/sidecar/${proxy.identity.name}/${proxy.identity.namespace}`;
}

// Kubernetes names: a namespace is an RFC 1123 label (no dots); a service account is an RFC 1123
// subdomain (dots allowed); a proxy uuid is a lowercase UUID (no dots).
const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const dnsSubdomain = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const proxyUuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** An RFC 1123 label (a namespace name): lowercase alphanumerics and '-', at most 63, no dots. */
export const isDnsLabel = (value: string): boolean => dnsLabel.test(value);
/** An RFC 1123 subdomain (a service account or DNS name): dot-separated labels, at most 253. */
export const isDnsSubdomain = (value: string): boolean => dnsSubdomain.test(value);
/** A proxy uuid as the injector writes it (the `osm-proxy-uuid` label): a lowercase UUID. */
export const isProxyUuid = (value: string): boolean => proxyUuid.test(value);

/**
 * Reads a proxy identity from an xDS client certificate CN made by proxyCertCommonName; undefined when
 * the CN does not have that shape or names another trust domain. A service account may contain dots
 * (`<uuid>.sidecar.build.bot.ci.<td>`), so the CN is not split on every dot: the trust domain is known
 * and comes off the end, the uuid (no dots) and the literal `sidecar` off the front, and the namespace
 * (an RFC 1123 label, no dots) is the last label left; everything between is the service account.
 */
export function parseProxyCertCommonName(cn: string, trustDomain: string): ProxyIdentity | undefined {
  const suffix = `.${trustDomain}`;
  if (!cn.endsWith(suffix)) return undefined;
  const head = cn.slice(0, -suffix.length);
  const firstDot = head.indexOf('.');
  const lastDot = head.lastIndexOf('.');
  if (firstDot < 0) return undefined;
  const uuid = head.slice(0, firstDot);
  const middle = head.slice(firstDot + 1, lastDot);
  const namespace = head.slice(lastDot + 1);
  if (!middle.startsWith('sidecar.')) return undefined;
  const name = middle.slice('sidecar.'.length);
  if (!isProxyUuid(uuid) || !isDnsSubdomain(name) || !isDnsLabel(namespace)) return undefined;
  return { uuid, identity: { namespace, name } };
}
