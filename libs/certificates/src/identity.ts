// Certificate subjects: who a certificate is for, and the names and uses derived from that.
import { certCommonName, isDnsLabel, isDnsSubdomain, isProxyUuid, proxyCertCommonName, proxySpiffeId, spiffeId } from '@osm/mesh-model';
import { CertificateError } from './errors.ts';

/**
 * A service certificate (SDS: the workload's identity in mTLS between proxies), a proxy bootstrap
 * certificate (the xDS client certificate: it proves only "proxy <uuid> of <sa> in <ns>" to the
 * controller and must never pass as the workload), or a control-plane server certificate (the ADS
 * server, the injector's webhook).
 */
export type CertificateSubject =
  | { readonly kind: 'service'; readonly serviceAccount: string; readonly namespace: string }
  | { readonly kind: 'bootstrap'; readonly proxyUuid: string; readonly serviceAccount: string; readonly namespace: string }
  | { readonly kind: 'server'; readonly dnsNames: readonly string[]; readonly ipAddresses?: readonly string[] };

export const DEFAULT_TRUST_DOMAIN = 'cluster.local';

function check(field: string, value: string, valid: (value: string) => boolean, allowed: string): void {
  if (!valid(value)) {
    throw new CertificateError('InvalidArgument', `${field} ${JSON.stringify(value)} is not valid: expected ${allowed}`);
  }
}

/** The 4 or 16 bytes of an IPv4 or IPv6 address (iPAddress SAN), or undefined when `ip` is not one. */
export function ipAddressBytes(ip: string): Buffer | undefined {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (v4) {
    const octets = v4.slice(1).map(Number);
    return octets.every((o) => o <= 255) ? Buffer.from(octets) : undefined;
  }
  if (!ip.includes(':') || !/^[0-9a-fA-F:.]+$/.test(ip)) return undefined;
  const halves = ip.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (g.includes('.')) {
        const tail = ipAddressBytes(g);
        if (!tail || tail.length !== 4) return undefined;
        out.push(tail.readUInt16BE(0), tail.readUInt16BE(2));
      } else if (/^[0-9a-fA-F]{1,4}$/.test(g)) out.push(parseInt(g, 16));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0] ?? '');
  const tail = halves.length === 2 ? groups(halves[1] ?? '') : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const bytes = Buffer.alloc(16);
  all.forEach((g, i) => bytes.writeUInt16BE(g, i * 2));
  return bytes;
}

/** Throws CertificateError('InvalidArgument') naming the field when a subject or trust domain is malformed. */
export function validateSubject(subject: CertificateSubject, trustDomain: string): void {
  check('trustDomain', trustDomain, isDnsSubdomain, 'a lowercase DNS name such as cluster.local');
  if (subject.kind === 'server') {
    if (subject.dnsNames.length === 0) throw new CertificateError('InvalidArgument', 'dnsNames is empty: a server certificate needs at least one DNS name');
    subject.dnsNames.forEach((n, i) => check(`dnsNames[${i}]`, n, isDnsSubdomain, 'a lowercase DNS name such as osm-controller.osm-system.svc'));
    (subject.ipAddresses ?? []).forEach((ip, i) => {
      if (!ipAddressBytes(ip)) throw new CertificateError('InvalidArgument', `ipAddresses[${i}] ${JSON.stringify(ip)} is not valid: expected an IPv4 or IPv6 address`);
    });
    return;
  }
  check('namespace', subject.namespace, isDnsLabel, 'a Kubernetes namespace name (RFC 1123 label)');
  check('serviceAccount', subject.serviceAccount, isDnsSubdomain, 'a Kubernetes service account name (RFC 1123 subdomain)');
  if (subject.kind === 'bootstrap') check('proxyUuid', subject.proxyUuid, isProxyUuid, 'a lowercase UUID');
}

/**
 * `<sa>.<ns>.<trustDomain>` for a service, `<uuid>.sidecar.<sa>.<ns>.<trustDomain>` for a bootstrap
 * certificate, the first DNS name for a server.
 */
// The names themselves come from mesh-model, the one place that spells them (xds-snapshot matches on them).
export function commonNameOf(subject: CertificateSubject, trustDomain: string): string {
  if (subject.kind === 'server') return subject.dnsNames[0] ?? '';
  const identity = { namespace: subject.namespace, name: subject.serviceAccount };
  return subject.kind === 'service' ? certCommonName(identity, trustDomain) : proxyCertCommonName({ uuid: subject.proxyUuid, identity }, trustDomain);
}

/** What goes into a certificate's subjectAltName and extKeyUsage for a subject. */
export interface CertificateProfile {
  readonly dnsNames: readonly string[];
  readonly uris: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly serverAuth: boolean;
  readonly clientAuth: boolean;
}

/**
 * Service: DNS SAN = CN, URI SAN = the workload's SPIFFE ID (what inbound RBAC and upstream SAN checks
 * match), server and client auth. Bootstrap: DNS SAN = CN and OSM's URI form
 * `spiffe://<td>/<uuid>/sidecar/<sa>/<ns>`, client auth only: it can never match a workload principal
 * (`spiffe://<td>/ns/<ns>/sa/<sa>`) nor serve TLS, so a leaked bootstrap Secret does not impersonate
 * the workload. Server: its DNS names and IPs, server auth only.
 */
export function profileOf(subject: CertificateSubject, trustDomain: string): CertificateProfile {
  switch (subject.kind) {
    case 'service':
      return {
        dnsNames: [commonNameOf(subject, trustDomain)],
        uris: [spiffeId({ namespace: subject.namespace, name: subject.serviceAccount }, trustDomain)],
        ipAddresses: [],
        serverAuth: true,
        clientAuth: true,
      };
    case 'bootstrap':
      return {
        dnsNames: [commonNameOf(subject, trustDomain)],
        uris: [proxySpiffeId({ uuid: subject.proxyUuid, identity: { namespace: subject.namespace, name: subject.serviceAccount } }, trustDomain)],
        ipAddresses: [],
        serverAuth: false,
        clientAuth: true,
      };
    case 'server':
      return { dnsNames: subject.dnsNames, uris: [], ipAddresses: subject.ipAddresses ?? [], serverAuth: true, clientAuth: false };
  }
}

/** A stable key for caches and rotation events: `service:<ns>/<sa>`, `bootstrap:<ns>/<sa>/<uuid>` or `server:<dns>,...`. */
export function identityKey(subject: CertificateSubject): string {
  switch (subject.kind) {
    case 'service':
      return `service:${subject.namespace}/${subject.serviceAccount}`;
    case 'bootstrap':
      return `bootstrap:${subject.namespace}/${subject.serviceAccount}/${subject.proxyUuid}`;
    case 'server':
      return `server:${[...subject.dnsNames, ...(subject.ipAddresses ?? [])].join(',')}`;
  }
}
