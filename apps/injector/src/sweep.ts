// Bootstrap Secrets and their pods. A Secret is written during admission, before its pod exists (the
// pod has no uid yet, so it cannot own the Secret at creation). Each pass lists the Secrets not yet
// adopted and, for each, the pods carrying its proxy uuid:
// - found: the pods become the Secret's owners (Kubernetes' garbage collector then deletes the Secret
//   with the last of them) and the Secret is labelled adopted, so later passes skip it;
// - none, and the Secret is older than the grace period: the pod was never admitted (a later webhook
//   or validation refused it, the API server gave up waiting, a retried request created it twice...),
//   so the Secret is deleted, with its uid as precondition.
// Any number of replicas may sweep at once: the apply is idempotent and the delete conditional.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Clock, TimerHandle } from '@osm/clock';
import { APP_INSTANCE_LABEL, APP_NAME_LABEL, APP_NAME_VALUE, BOOTSTRAP_ADOPTED_LABEL, bootstrapSecretName } from '@osm/injector-core';
import type { KubeObject, ListWatchClient } from '@osm/k8s-informers';
import { serverSideApply, type KubeSecretStore } from '@osm/k8s-writes';
import { proxyUuidLabel } from '@osm/mesh-model';
import type { Counter, Logger } from '@osm/observability';

export const FIELD_MANAGER = 'osm-injector';

export interface SweepOptions {
  readonly kubeConfig: KubeConfig;
  readonly client: ListWatchClient;
  readonly secrets: Pick<KubeSecretStore, 'delete'>;
  readonly meshName: string;
  readonly graceMs: number;
  readonly clock: Pick<Clock, 'now'>;
  readonly logger: Logger;
  readonly deleted: Counter;
}

export interface SweepReport {
  readonly adopted: number;
  readonly deleted: number;
  readonly waiting: number;
}

type Listed = KubeObject & { readonly metadata: KubeObject['metadata'] & { readonly creationTimestamp?: string } };

async function listAll(client: ListWatchClient, path: string, labelSelector: string, signal: AbortSignal): Promise<Listed[]> {
  const items: Listed[] = [];
  let continueToken: string | undefined;
  do {
    const page = await client.list(path, { labelSelector, limit: 500, ...(continueToken ? { continueToken } : {}) }, signal);
    items.push(...(page.items as Listed[]));
    continueToken = page.continueToken;
  } while (continueToken);
  return items;
}

/** One pass over the bootstrap Secrets not yet adopted. */
export async function sweepBootstrapSecrets(options: SweepOptions, signal: AbortSignal): Promise<SweepReport> {
  const selector = `${APP_NAME_LABEL}=${APP_NAME_VALUE},${APP_INSTANCE_LABEL}=${options.meshName},${proxyUuidLabel},!${BOOTSTRAP_ADOPTED_LABEL}`;
  const secrets = await listAll(options.client, '/api/v1/secrets', selector, signal);
  const report = { adopted: 0, deleted: 0, waiting: 0 };
  for (const secret of secrets) {
    const { namespace = '', name, uid = '' } = secret.metadata;
    const uuid = secret.metadata.labels?.[proxyUuidLabel] ?? '';
    // Only the injector's own naming: a labelled Secret of another name is not ours to delete.
    if (name !== bootstrapSecretName(uuid)) continue;
    const pods = await listAll(options.client, `/api/v1/namespaces/${namespace}/pods`, `${proxyUuidLabel}=${uuid}`, signal);
    const log = options.logger.child({ secret: `${namespace}/${name}`, proxyUuid: uuid });
    if (pods.length > 0) {
      await serverSideApply(
        options.kubeConfig,
        [
          {
            apiVersion: 'v1',
            kind: 'Secret',
            metadata: {
              name,
              namespace,
              labels: { [BOOTSTRAP_ADOPTED_LABEL]: 'true' },
              ownerReferences: pods.map((p) => ({ apiVersion: 'v1', kind: 'Pod', name: p.metadata.name, uid: p.metadata.uid ?? '' })),
            },
          },
        ],
        { fieldManager: FIELD_MANAGER },
      );
      report.adopted++;
      log.debug({ pods: pods.map((p) => p.metadata.name) }, 'bootstrap Secret owned by its pod');
      continue;
    }
    const created = Date.parse(secret.metadata.creationTimestamp ?? '');
    const age = options.clock.now() - (Number.isNaN(created) ? 0 : created);
    if (age < options.graceMs) {
      report.waiting++;
      continue;
    }
    if ((await options.secrets.delete(namespace, name, uid)) === 'deleted') {
      report.deleted++;
      options.deleted.inc();
      log.info({ ageMs: age }, 'deleted the bootstrap Secret of a pod that was never admitted');
    }
  }
  return report;
}

/** Runs `pass` every `intervalMs` (jittered ±10 %) until stopped; a failed pass is logged and the next one runs as planned. */
export function every(intervalMs: number, clock: Clock, random: () => number, logger: Logger, what: string, pass: (signal: AbortSignal) => Promise<unknown>): { stop(): Promise<void> } {
  const abort = new AbortController();
  let timer: TimerHandle | undefined;
  let running: Promise<unknown> = Promise.resolve();
  const schedule = (): void => {
    timer = clock.setTimer(() => {
      running = pass(abort.signal)
        .catch((err: unknown) => {
          if (!abort.signal.aborted) logger.warn({ err }, `${what} failed; trying again next time`);
        })
        .finally(() => {
          if (!abort.signal.aborted) schedule();
        });
    }, intervalMs * (0.9 + 0.2 * random()));
  };
  schedule();
  return {
    async stop() {
      abort.abort();
      timer?.cancel();
      await running;
    },
  };
}
