// Certificate subjects: who a certificate is for, and the names derived from that.
import { certCommonName, proxyCertCommonName, spiffeId } from '@osm/mesh-model';
import { CertificateError } from './errors.ts';

/** A service certificate (SDS) or a proxy bootstrap (xDS client) certificate. */
export type CertificateSubject =
  | { readonly kind: 'service'; readonly serviceAccount: string; readonly namespace: string }
  | { readonly kind: 'bootstrap'; readonly proxyUuid: string; readonly serviceAccount: string; readonly namespace: string };

export const DEFAULT_TRUST_DOMAIN = 'cluster.local';

// Kubernetes names: a namespace is an RFC 1123 label; a service account is an RFC 1123 subdomain.
const label = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const subdomain = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function check(field: string, value: string, pattern: RegExp, allowed: string): void {
  if (!pattern.test(value)) {
    throw new CertificateError('InvalidArgument', `${field} ${JSON.stringify(value)} is not valid: expected ${allowed}`);
  }
}

/** Throws CertificateError('InvalidArgument') naming the field when a subject or trust domain is malformed. */
export function validateSubject(subject: CertificateSubject, trustDomain: string): void {
  check('trustDomain', trustDomain, subdomain, 'a lowercase DNS name such as cluster.local');
  check('namespace', subject.namespace, label, 'a Kubernetes namespace name (RFC 1123 label)');
  check('serviceAccount', subject.serviceAccount, subdomain, 'a Kubernetes service account name (RFC 1123 subdomain)');
  if (subject.kind === 'bootstrap') check('proxyUuid', subject.proxyUuid, uuid, 'a lowercase UUID');
}

/** `<sa>.<ns>.<trustDomain>` for a service, `<uuid>.sidecar.<sa>.<ns>.<trustDomain>` for a bootstrap certificate. */
// The names themselves come from mesh-model, the one place that spells them (xds-snapshot matches on them).
export function commonNameOf(subject: CertificateSubject, trustDomain: string): string {
  const identity = { namespace: subject.namespace, name: subject.serviceAccount };
  return subject.kind === 'service' ? certCommonName(identity, trustDomain) : proxyCertCommonName({ uuid: subject.proxyUuid, identity }, trustDomain);
}

/** `spiffe://<trustDomain>/ns/<ns>/sa/<sa>`. */
export function spiffeIdOf(subject: CertificateSubject, trustDomain: string): string {
  return spiffeId({ namespace: subject.namespace, name: subject.serviceAccount }, trustDomain);
}

/** A stable key for caches and rotation events: `service:<ns>/<sa>` or `bootstrap:<ns>/<sa>/<uuid>`. */
export function identityKey(subject: CertificateSubject): string {
  return subject.kind === 'service'
    ? `service:${subject.namespace}/${subject.serviceAccount}`
    : `bootstrap:${subject.namespace}/${subject.serviceAccount}/${subject.proxyUuid}`;
}
