// What ca-bootstrap does on start, in order and idempotently: apply the CRDs, create the default
// MeshConfig if missing, create-or-load the root CA. API failures are retried with bounded backoff;
// invalid stored input (a bad CA Secret) is reported, leaves the component not ready, and is checked
// again until it is fixed (root-ca.ts).
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { resolveServiceCertValidity, type LoadedRoot } from '@osm/certificates';
import type { Logger } from '@osm/observability';
import type { Flags } from './flags.ts';
import { retryUntilDone, rootCAProvider } from '@osm/k8s-writes';
import { meshConfigName } from '@osm/mesh-model';
import { applyManifests, ensureMeshConfig, readManifests } from './kube.ts';
import { loadRootCA } from './root-ca.ts';

export type Phase = 'starting' | 'applying-crds' | 'mesh-config' | 'root-ca' | 'ready' | 'failed';

export interface BootstrapState {
  phase: Phase;
  reason: string | undefined;
  root: LoadedRoot | undefined;
  rootNotAfter: number | undefined;
}

export async function runBootstrap(flags: Flags, kubeConfig: KubeConfig, logger: Logger, state: BootstrapState, signal: AbortSignal): Promise<void> {
  state.phase = 'applying-crds';
  state.reason = `applying the CRDs in ${flags.crdsDir}`;
  let manifests: KubernetesObject[];
  try {
    manifests = readManifests(flags.crdsDir);
  } catch (err) {
    state.phase = 'failed';
    state.reason = `--crds-dir ${flags.crdsDir} could not be read: ${(err as Error).message}`;
    logger.error({ err, crdsDir: flags.crdsDir }, state.reason);
    return;
  }
  await retryUntilDone('server-side apply of the CRDs', logger, signal, async () => (await applyManifests(kubeConfig, manifests), true));
  logger.info({ crds: manifests.map((m) => m.metadata?.name) }, 'CRDs applied');

  state.phase = 'mesh-config';
  state.reason = `ensuring MeshConfig ${flags.namespace}/${meshConfigName}`;
  // Right after a CRD is created the API answers 404 (not yet established) or 429 (storage not ready): retried.
  const meshConfig = await retryUntilDone('creating the default MeshConfig', logger, signal, () => ensureMeshConfig(kubeConfig, flags.namespace));
  logger.info({ meshConfig: `${flags.namespace}/${meshConfigName}`, created: meshConfig.created }, meshConfig.created ? 'default MeshConfig created' : 'MeshConfig exists; left as is');
  const certificateSpec = meshConfig.object.spec?.['certificate'] as Record<string, unknown> | undefined;
  const validity = resolveServiceCertValidity(certificateSpec?.['serviceCertValidityDuration']);
  if (validity.problem) logger.error({ meshConfig: `${flags.namespace}/${meshConfigName}`, field: 'spec.certificate.serviceCertValidityDuration' }, `MeshConfig ${flags.namespace}/${meshConfigName}: ${validity.problem}`);

  state.phase = 'root-ca';
  state.reason = `loading the root CA from Secret ${flags.namespace}/${flags.rootCa.secretName}`;
  const provider = rootCAProvider(kubeConfig, flags.rootCa);
  const root = await loadRootCA(provider, `${flags.namespace}/${flags.rootCa.secretName}`, {
    logger,
    signal,
    onState: (phase, reason) => {
      state.phase = phase;
      state.reason = reason;
    },
  });
  state.root = root;
  state.rootNotAfter = root.authority.notAfter;
  state.phase = 'ready';
  state.reason = undefined;
  logger.info(
    {
      rootFingerprint: root.authority.rootFingerprint,
      created: root.created,
      outcome: root.outcome,
      secret: `${root.secret.namespace}/${root.secret.name}`,
      resourceVersion: root.secret.resourceVersion,
      rootNotAfter: new Date(root.authority.notAfter).toISOString(),
      serviceCertValidityMs: validity.validityMs,
    },
    'root CA ready',
  );
}
