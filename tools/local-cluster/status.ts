// The local mesh's live status as text: replicas and the proxies each serves, per identity whether its
// proxies hold the same ACKed configuration, NACKs, and when the root and the service certificates
// expire. A function of plain data (the clock comes in as `now`), so a test can feed it any situation.
import { createHash } from 'node:crypto';
import type { ProxyStatus } from '@osm/testing';
import { TYPE_URLS } from '@osm/xds-snapshot';

export interface ReplicaInfo {
  /** Its replica id (control_plane.identifier in every response it sends). */
  readonly name: string;
  readonly pid: number;
  /** How it ended (`SIGKILL`, `exit 1`); undefined while it runs. */
  readonly exit: string | undefined;
  readonly ads: string;
  readonly admin: string;
}

export interface StatusInput {
  readonly replicas: readonly ReplicaInfo[];
  /** The other processes of the mesh (ca-bootstrap, the injector): shown up or down. */
  readonly components: readonly Pick<ReplicaInfo, 'name' | 'pid' | 'exit'>[];
  readonly proxies: readonly ProxyStatus[];
  /** `namespace/serviceAccount` by proxy uuid. */
  readonly identityOf: ReadonlyMap<string, string>;
  readonly root: { readonly fingerprint: string; readonly notAfter: Date };
  /** notAfter of the service certificate each proxy holds (over SDS), by uuid. */
  readonly serviceCertNotAfter: ReadonlyMap<string, Date>;
  readonly now: Date;
}

export interface Status {
  readonly lines: readonly string[];
  /** Every proxy is connected, has ACKed every type, and proxies of one identity hold the same config. */
  readonly converged: boolean;
}

// Every type must be equal for one identity, SDS included: each replica serves its own certificate, but
// its version names the certificate generation, which every replica shares (docs/controller.md).
const CONFIG_TYPES = [TYPE_URLS.clusters, TYPE_URLS.endpoints, TYPE_URLS.listeners, TYPE_URLS.routes, TYPE_URLS.secrets];
const WILDCARD_TYPES = [TYPE_URLS.clusters, TYPE_URLS.listeners];

/**
 * Connected, holding clusters and listeners, holding every endpoint, route and secret it asked for, and
 * the last response of every type ACKed (none NACKed). EDS, RDS and SDS are asked for by name, only
 * when a cluster or listener needs them: a proxy allowed to reach nothing (bookthief) holds none.
 */
export function acked(p: ProxyStatus): boolean {
  if (!p.connected || !WILDCARD_TYPES.every((url) => (p.types[url]?.version ?? '') !== '')) return false;
  return Object.values(p.types).every((t) => (t.subscribed.length === 0 || t.version !== '') && (t.responseAt === undefined || (t.ackedAt !== undefined && t.ackedAt >= t.responseAt)));
}

/** A short hash of the ACKed CDS, EDS, LDS, RDS and SDS versions: equal on two proxies = same config. */
export function configHash(p: ProxyStatus): string {
  const versions = CONFIG_TYPES.map((url) => p.types[url]?.version ?? '').join('\n');
  return createHash('sha256').update(versions).digest('hex').slice(0, 7);
}

/** "in 23h", "in 3650d", "in 12m", "EXPIRED": coarse, so a status printed on change does not change every second. */
export function expiresIn(notAfter: Date, now: Date): string {
  const ms = notAfter.getTime() - now.getTime();
  if (ms <= 0) return 'EXPIRED';
  const h = Math.floor(ms / 3_600_000);
  if (h >= 48) return `in ${Math.floor(h / 24)}d`;
  if (h >= 1) return `in ${h}h`;
  return `in ${Math.floor(ms / 60_000)}m`;
}

const pad = (s: string, n: number): string => s.padEnd(n);

export function renderStatus(input: StatusInput): Status {
  const { proxies, now } = input;
  // By the address a proxy is connected to, not by the last replica that answered it: a proxy that
  // reconnects already holding the survivor's versions (the same content hashes) gets no new response.
  const byAddress = new Map(input.replicas.map((r) => [r.ads, r.name]));
  const replicaOf = (p: ProxyStatus): string => byAddress.get(p.server) ?? p.server;
  const perReplica = new Map<string, number>();
  for (const p of proxies) if (p.connected) perReplica.set(replicaOf(p), (perReplica.get(replicaOf(p)) ?? 0) + 1);
  const lines: string[] = [];
  for (const r of input.replicas) {
    const state = r.exit === undefined ? 'up' : `down (${r.exit})`;
    lines.push(`replica ${pad(r.name, 18)} pid ${pad(String(r.pid), 7)} ${pad(state, 16)} proxies ${pad(String(perReplica.get(r.name) ?? 0), 4)} ADS ${r.ads}  admin ${r.admin}`);
  }

  lines.push(input.components.map((c) => `${c.name} pid ${c.pid} ${c.exit === undefined ? 'up' : `down (${c.exit})`}`).join(' · '));

  const byIdentity = new Map<string, ProxyStatus[]>();
  for (const p of proxies) {
    const id = input.identityOf.get(p.uuid) ?? '?';
    byIdentity.set(id, [...(byIdentity.get(id) ?? []), p]);
  }
  const width = Math.max(8, ...[...byIdentity.keys()].map((k) => k.length)) + 2;
  lines.push(`${pad('identity', width)}${pad('proxies', 9)}${pad('acked', 7)}${pad('nacks', 7)}${pad('config', 10)}${pad('service cert', 14)}replicas`);
  let converged = true;
  for (const [id, list] of [...byIdentity].sort(([a], [b]) => a.localeCompare(b))) {
    const ok = list.filter(acked);
    const hashes = new Set(ok.map(configHash));
    if (ok.length !== list.length || hashes.size > 1) converged = false;
    const config = hashes.size === 1 ? [...hashes].join('') : hashes.size === 0 ? '-' : `${hashes.size} diff`;
    const expiries = list.map((p) => input.serviceCertNotAfter.get(p.uuid)).filter((d): d is Date => d !== undefined);
    const cert = expiries.length === 0 ? '-' : expiresIn(new Date(Math.min(...expiries.map((d) => d.getTime()))), now);
    const counts = new Map<string, number>();
    for (const p of list) if (p.connected) counts.set(replicaOf(p), (counts.get(replicaOf(p)) ?? 0) + 1);
    const where = [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([r, n]) => `${r}:${n}`).join(' ') || 'none';
    const nacks = list.reduce((n, p) => n + p.nacks, 0);
    lines.push(`${pad(id, width)}${pad(String(list.length), 9)}${pad(`${ok.length}/${list.length}`, 7)}${pad(String(nacks), 7)}${pad(config, 10)}${pad(cert, 14)}${where}`);
  }
  const connected = proxies.filter((p) => p.connected).length;
  const ackedCount = proxies.filter(acked).length;
  const nacks = proxies.reduce((n, p) => n + p.nacks, 0);
  lines.push(`proxies ${proxies.length}: ${connected} connected, ${ackedCount} ACKed, ${nacks} NACKs; config ${converged ? 'converged' : 'converging'}`);
  lines.push(`root CA expires ${input.root.notAfter.toISOString().slice(0, 10)} (${expiresIn(input.root.notAfter, now)}), SHA-256 ${input.root.fingerprint.slice(0, 23)}…`);
  return { lines, converged };
}
