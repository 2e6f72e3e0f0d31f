// Test-only: the setting of the HA scenarios. A real API server with the bookstore demo, several
// osm-controller processes on their own ports (each its own replica id), and a fleet of simulated
// sidecars spread over them as a Kubernetes Service would spread connections. Plus the questions every
// scenario asks of the fleet: does each proxy hold a full ACKed config, and is it the current one.
import { generationAt, identityKey } from '@osm/certificates';
import { ControllerProcess, createBookstore, KubeRest, startFleet, startKubeApiServer, type Bookstore, type Fleet, type KubeApiServer, type MeshPod, type ProxyStatus } from '@osm/testing';
import { TYPE_URLS } from '@osm/xds-snapshot';

export const SERVER_NAME = 'osm-controller.osm-system.svc.cluster.local';
const CDS = TYPE_URLS.clusters;
const LDS = TYPE_URLS.listeners;

export interface HaMeshOptions {
  /** Pods of each bookstore app (six apps). */
  readonly podsPerApp: number;
  readonly replicas: number;
  /** How many of the replicas (the first ones) the fleet's Service holds at first; default all. */
  readonly inService?: number;
  /** Extra controller flags (e.g. `--max-connection-age`). */
  readonly controllerArgs?: readonly string[];
  /** Fleet reconnect backoff; default base 200 ms, max 2 s, so that reconnects in a test stay short. */
  readonly backoff?: { readonly baseMs: number; readonly maxMs: number };
}

export class HaMesh {
  readonly api: KubeApiServer;
  readonly rest: KubeRest;
  readonly mesh: Bookstore;
  readonly replicas = new Map<string, ControllerProcess>();
  readonly #args: readonly string[];
  /** Replica ids by ADS address, the latest replica on an address last. */
  readonly #byAddress = new Map<string, string>();
  #fleet: Fleet | undefined;
  #generation = 0;

  constructor(api: KubeApiServer, mesh: Bookstore, args: readonly string[]) {
    this.api = api;
    this.rest = new KubeRest(api.kubeConfig);
    this.mesh = mesh;
    this.#args = args;
  }

  get fleet(): Fleet {
    if (!this.#fleet) throw new Error('the fleet is not started');
    return this.#fleet;
  }

  /** Starts a replica named `osm-controller-<n>` (a fresh number each time) and waits for its ADS listener. */
  async startReplica(): Promise<{ id: string; controller: ControllerProcess; address: string }> {
    const id = `osm-controller-${this.#generation++}`;
    const controller = new ControllerProcess(this.api.kubeconfigPath, ['--replica-id', id, ...this.#args]);
    this.replicas.set(id, controller);
    const address = await controller.adsAddress();
    this.#byAddress.set(address, id);
    return { id, controller, address };
  }

  /**
   * The replica a proxy is (or was last) connected to, by the address it dialled. Not its `replica`
   * (the control_plane.identifier of its last response): a proxy that moves to another replica with
   * current config is sent nothing, so it keeps the identifier of the replica it left.
   */
  servedBy(s: ProxyStatus): string {
    return this.#byAddress.get(s.server) ?? `unknown replica at ${s.server}`;
  }

  /** The ADS addresses of the replicas still running, in start order. */
  async addresses(): Promise<string[]> {
    const live = [...this.replicas.values()].filter((c) => c.child.exitCode === null && c.child.signalCode === null);
    return Promise.all(live.map((c) => c.adsAddress()));
  }

  async startFleet(servers: readonly string[], backoff = { baseMs: 200, maxMs: 2000 }): Promise<Fleet> {
    this.#fleet = await startFleet({
      servers,
      rootPem: this.mesh.rootPem,
      serverName: SERVER_NAME,
      backoff,
      processes: 1,
      proxies: this.mesh.pods.map((p) => {
        const cert = this.mesh.bootstrap(p);
        return { uuid: p.uuid, certificatePem: cert.certificatePem, privateKeyPem: cert.privateKeyPem };
      }),
    });
    return this.#fleet;
  }

  pod(uuid: string): MeshPod {
    const pod = this.mesh.pods.find((p) => p.uuid === uuid);
    if (!pod) throw new Error(`no pod with uuid ${uuid}`);
    return pod;
  }

  /** `<namespace>/<serviceaccount>` of a proxy. */
  identity(uuid: string): string {
    const pod = this.pod(uuid);
    return `${pod.namespace}/${pod.serviceAccount}`;
  }

  async stop(): Promise<void> {
    await this.#fleet?.stop(2000);
    await Promise.all([...this.replicas.values()].map((c) => c.stop('SIGKILL')));
    await this.api.stop();
  }
}

/** The API server, the bookstore demo, `replicas` controllers (ready) and the fleet spread over them. */
export async function startHaMesh(options: HaMeshOptions): Promise<HaMesh> {
  const api = await startKubeApiServer({ progress: () => undefined });
  try {
    const mesh = await createBookstore(new KubeRest(api.kubeConfig), options.podsPerApp);
    const ha = new HaMesh(api, mesh, options.controllerArgs ?? []);
    const started = await Promise.all(Array.from({ length: options.replicas }, () => ha.startReplica()));
    await ha.startFleet(
      started.slice(0, options.inService ?? options.replicas).map((s) => s.address),
      options.backoff,
    );
    return ha;
  } catch (err) {
    await api.stop();
    throw err;
  }
}

/**
 * Whether a proxy holds a full ACKed config: CDS and LDS accepted, and every type it subscribed to
 * accepted with every name it asked for. A proxy that never connected, or lost a type, does not.
 */
export function hasFullConfig(s: ProxyStatus): boolean {
  const types = Object.values(s.types);
  if (!s.types[CDS]?.version || !s.types[LDS]?.version) return false;
  return types.every((t) => t.version !== '' && t.ackedAt !== undefined && t.subscribed.every((n) => t.names.includes(n)));
}

/** The ACKed version of each type URL of a proxy, without the secrets (whose versions are equal on every replica too: ha.config.spec.ts). */
export function versionsWithoutSecrets(s: ProxyStatus): Record<string, string> {
  return Object.fromEntries(
    Object.entries(s.types)
      .filter(([url]) => url !== TYPE_URLS.secrets)
      .map(([url, t]): [string, string] => [url, t.version])
      .sort(([a], [b]) => (a < b ? -1 : 1)),
  );
}

/** The bookstore MeshConfig's certificate.serviceCertValidityDuration. */
const VALIDITY_MS = 24 * 3_600_000;

/**
 * The proxies whose identity entered a new certificate generation between two instants: every replica
 * renews their certificate then, so their SDS version moves, everywhere at once (with a 24 h validity
 * each identity does so twice a day, at its own offset: rarely inside a test, but it can be).
 */
export function rotatedBetween(pods: readonly MeshPod[], from: number, to: number): Set<string> {
  const rotated = pods.filter((p) => {
    const identity = identityKey({ kind: 'service', serviceAccount: p.serviceAccount, namespace: p.namespace });
    return generationAt(identity, VALIDITY_MS, from) !== generationAt(identity, VALIDITY_MS, to);
  });
  return new Set(rotated.map((p) => p.uuid));
}

/** A replica's view of what a proxy should hold: the version of each type in its config dump. */
export interface DumpedConfig {
  readonly replica: string;
  readonly connected: boolean;
  readonly config: Record<string, { typeUrl: string; version: string; resources: { name: string; version: string; resource: unknown }[] }>;
}

export function configDump(controller: ControllerProcess, uuid: string): Promise<DumpedConfig> {
  return controller.json<DumpedConfig>(`/debug/config_dump?proxy=${uuid}`);
}

/**
 * Whether every proxy is connected, ACKed a full config, and holds exactly the clusters and listeners
 * (names and versions) that `controller` would serve it now: CDS and LDS are wildcard, so their
 * versions are the whole type's, comparable with the dump.
 */
export async function convergedOn(controller: ControllerProcess, statuses: readonly ProxyStatus[]): Promise<boolean> {
  for (const s of statuses) {
    if (!s.connected || !hasFullConfig(s)) return false;
    const dump = await configDump(controller, s.uuid);
    for (const url of [CDS, LDS]) {
      const type = Object.values(dump.config).find((t) => t.typeUrl === url);
      if (s.types[url]?.version !== type?.version) return false;
    }
  }
  return true;
}

/**
 * Checks every proxy's status every `intervalMs` until stopped, and returns what `check` said was wrong
 * (at most one entry per proxy and reason): what happens between two waits, not only at their end.
 */
export function sampleFleet(fleet: Fleet, check: (s: ProxyStatus) => string | undefined, intervalMs = 25): () => string[] {
  const problems = new Set<string>();
  const timer = setInterval(() => {
    for (const s of fleet.statuses()) {
      const problem = check(s);
      if (problem) problems.add(`${s.uuid}: ${problem}`);
    }
  }, intervalMs);
  // A test that fails before stopping it must not keep the process alive.
  timer.unref();
  return () => {
    clearInterval(timer);
    return [...problems];
  };
}
