// Keeps the snapshot of every proxy connected to this replica current: rebuilt when a catalog batch
// names it among the affected proxies, when it connects, and when its identity's certificate rotates;
// then handed to the ADS service, which pushes only what changed. Builds share one long-lived
// ResourceCache, so a resource equal for many proxies is encoded once.
import type { Clock } from '@osm/clock';
import type { CachedCertificate, CertificateCache } from '@osm/certificates';
import type { CatalogBatch } from '@osm/mesh-catalog';
import { keyOf, type MeshModel, type Proxy, type ServiceIdentity } from '@osm/mesh-model';
import type { Logger } from '@osm/observability';
import type { AdsService } from '@osm/xds-server';
import { buildSnapshot, ResourceCache, type Snapshot } from '@osm/xds-snapshot';

export interface ProxyConfigsOptions {
  readonly service: Pick<AdsService, 'setSnapshot' | 'isConnected' | 'connectedProxies' | 'snapshot'>;
  readonly certificates: Pick<CertificateCache, 'get' | 'delete'>;
  /** The roots peers are verified against (the mesh root; old and new during a rotation). */
  readonly trustBundlePem: string;
  readonly logger: Logger;
  readonly clock: Clock;
  /**
   * Hands each snapshot built to the ADS service by calling `push` (one place per build, for metrics
   * and traces: the pushes to the proxy's streams happen inside `push`). Default: `push()`.
   */
  readonly publish?: (snapshot: Snapshot, startedAt: number, push: () => void) => void;
}

/** Retry after a failed certificate issuance. */
const RETRY_MS = 5000;
/** The shared cache is swept once it holds this many entries and twice as many as after the last sweep. */
const SWEEP_FLOOR = 10_000;

export const serviceSubject = (id: ServiceIdentity): { kind: 'service'; serviceAccount: string; namespace: string } => ({
  kind: 'service',
  serviceAccount: id.name,
  namespace: id.namespace,
});

export class ProxyConfigs {
  readonly #options: ProxyConfigsOptions;
  readonly #log: Logger;
  readonly #cache = new ResourceCache();
  readonly #pending = new Set<string>();
  /** Identities (keyOf) whose certificates the cache holds. */
  readonly #certified = new Map<string, ServiceIdentity>();
  #model: MeshModel | undefined;
  #running: Promise<void> | undefined;
  #sizeAfterSweep = 0;
  #firstBuilt = false;

  constructor(options: ProxyConfigsOptions) {
    this.#options = options;
    this.#log = options.logger.child({ subsystem: 'configs' });
  }

  /** True once the first batch's snapshots are built (readiness). */
  get firstBuilt(): boolean {
    return this.#firstBuilt;
  }

  /** A new model from the catalog (one place per batch): rebuild the connected proxies it affects (returned). */
  onBatch(batch: CatalogBatch): readonly string[] {
    this.#model = batch.model;
    const service = this.#options.service;
    const affected = batch.allProxies ? [...service.connectedProxies()] : batch.affectedProxies.filter((uuid) => service.isConnected(uuid));
    for (const uuid of affected) this.#pending.add(uuid);
    this.#forgetCertificates(batch.model);
    this.#schedule();
    return affected;
  }

  /** A proxy's first stream here: it needs its snapshot. */
  proxyConnected(proxy: Proxy): void {
    this.#pending.add(proxy.uuid);
    this.#schedule();
  }

  /** An identity's certificate was renewed: its connected proxies get the new one over SDS. */
  certificateRotated(identity: ServiceIdentity): void {
    const key = keyOf(identity);
    for (const uuid of this.#options.service.connectedProxies()) {
      const proxy = this.#model?.proxies.get(uuid);
      if (proxy && keyOf(proxy.identity) === key) this.#pending.add(uuid);
    }
    this.#schedule();
  }

  /** Resolves once no build is pending. */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  /**
   * The proxy's snapshot: the one served if it is connected here, else one built now (for the debug
   * endpoint: any replica can show any proxy's config). Undefined when the mesh has no such proxy.
   */
  async snapshotOf(uuid: string): Promise<Snapshot | undefined> {
    const served = this.#options.service.snapshot(uuid);
    if (served) return served;
    const proxy = this.#model?.proxies.get(uuid);
    if (!proxy) return undefined;
    const certificate = await this.#certificate(proxy.identity);
    return this.#build(this.#model as MeshModel, proxy, certificate);
  }

  #schedule(): void {
    if (this.#running || !this.#model) return;
    this.#running = this.#drain()
      .catch((err: unknown) => this.#log.error({ err }, 'building proxy configs failed'))
      .finally(() => {
        this.#running = undefined;
        if (this.#pending.size > 0) this.#schedule();
      });
  }

  async #drain(): Promise<void> {
    while (this.#pending.size > 0) {
      const uuids = [...this.#pending];
      this.#pending.clear();
      const before = this.#model as MeshModel;
      const proxies = uuids.flatMap((uuid) => before.proxies.get(uuid) ?? []);
      const identities = new Map(proxies.map((p) => [keyOf(p.identity), p.identity]));
      const certificates = new Map<string, CachedCertificate>();
      const failed = new Set<string>();
      await Promise.all(
        [...identities].map(async ([key, identity]) => {
          try {
            certificates.set(key, await this.#certificate(identity));
          } catch (err) {
            failed.add(key);
            this.#log.error({ err, identity: key, retryInMs: RETRY_MS }, 'could not issue the service certificate; its proxies keep their last config');
            this.#options.clock.setTimer(() => this.certificateRotated(identity), RETRY_MS);
          }
        }),
      );
      // A batch may have come in meanwhile: build from the latest model (it queued what it affects too).
      const model = this.#model as MeshModel;
      for (const uuid of uuids) {
        const proxy = model.proxies.get(uuid);
        // A proxy whose pod is gone keeps the config it has until it disconnects.
        if (!proxy || !this.#options.service.isConnected(uuid)) continue;
        const key = keyOf(proxy.identity);
        const certificate = certificates.get(key);
        if (!certificate) {
          // Its identity changed while certificates were issued: next round (a failed one retries on its timer).
          if (!failed.has(key)) this.#pending.add(uuid);
          continue;
        }
        const startedAt = this.#options.clock.now();
        let snapshot: Snapshot;
        try {
          snapshot = this.#build(model, proxy, certificate);
        } catch (err) {
          this.#log.error({ err, proxy: uuid }, 'snapshot build failed; the proxy keeps its last config');
          continue;
        }
        const push = (): void => this.#options.service.setSnapshot(snapshot);
        if (this.#options.publish) this.#options.publish(snapshot, startedAt, push);
        else push();
      }
      this.#sweep();
    }
    this.#firstBuilt = true;
  }

  #build(model: MeshModel, proxy: Proxy, certificate: CachedCertificate): Snapshot {
    return buildSnapshot(model, proxy, {
      // Versioned by its generation: equal on every replica and after a restart (see @osm/certificates).
      certificate: { certificateChain: certificate.certificatePem, privateKey: certificate.privateKeyPem, ...(certificate.generation ? { generation: certificate.generation } : {}) },
      trustBundle: this.#options.trustBundlePem,
      cache: this.#cache,
    });
  }

  #certificate(identity: ServiceIdentity): Promise<CachedCertificate> {
    this.#certified.set(keyOf(identity), identity);
    return this.#options.certificates.get(serviceSubject(identity));
  }

  // Certificates of identities that no proxy uses any more stop being renewed.
  #forgetCertificates(model: MeshModel): void {
    const used = new Set<string>();
    for (const p of model.proxies.values()) used.add(keyOf(p.identity));
    for (const [key, identity] of this.#certified) {
      if (used.has(key)) continue;
      this.#certified.delete(key);
      this.#options.certificates.delete(serviceSubject(identity));
    }
  }

  // Entries no build used since the last sweep go; sweeping is rare, as the cache grows only by what changed.
  #sweep(): void {
    const size = this.#cache.size;
    if (size < SWEEP_FLOOR || size < 2 * this.#sizeAfterSweep) return;
    const removed = this.#cache.sweep();
    this.#sizeAfterSweep = this.#cache.size;
    this.#log.debug({ removed, kept: this.#sizeAfterSweep }, 'resource cache swept');
  }
}
