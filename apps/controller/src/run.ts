// osm-controller: wiring only. Informers -> catalog -> snapshots of the affected connected proxies ->
// ADS streams; the shared root CA, service certificates in memory, the admin server with the debug
// endpoints, and a graceful drain on SIGTERM.
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { CertificateCache, MIN_SERVICE_CERT_VALIDITY_MS, type LoadedRoot } from '@osm/certificates';
import { systemClock } from '@osm/clock';
import { kubeListWatchClient, MeshInformers } from '@osm/k8s-informers';
import { KubeEventRecorder, rootCAProvider, statusCode } from '@osm/k8s-writes';
import { informerSource, MeshCatalog } from '@osm/mesh-catalog';
import type { MeshModel } from '@osm/mesh-model';
import { createObservability, parseOrExit, runMain, type Logger } from '@osm/observability';
import { AdsService, CertificateProxyVerifier, startAdsServer, type AdsServer, type AdsTls } from '@osm/xds-server';
import type { Snapshot } from '@osm/xds-snapshot';
import pkg from '../package.json' with { type: 'json' };
import { ProxyConfigs } from './configs.ts';
import { addDebugRoutes } from './debug.ts';
import { CatalogProxyDirectory } from './directory.ts';
import { parseFlags, usage, type Flags } from './flags.ts';
import { controllerMetrics } from './metrics.ts';
import { ProblemReporter } from './problems.ts';
import { BatchTracing, mergeEvents } from './tracing.ts';
import { certificateOwner } from './secrets.ts';

/** How long a stream waits for its pod to reach the informers before it is refused. */
const POD_WAIT_MS = 10_000;
/** Streams get this long to end after SIGTERM (within the 25 s shutdown deadline). */
const ADS_DRAIN_MS = 10_000;
/** The ADS serving certificate's validity; the cache renews it well before. */
const SERVER_CERT_VALIDITY_MS = 24 * 3_600_000;

/** Loads the shared root: API failures and a bad Secret are retried (ca-bootstrap or an operator may fix it). */
async function loadRoot(flags: Flags, kubeConfig: KubeConfig, log: Logger, state: { reason: string }, signal: AbortSignal): Promise<LoadedRoot> {
  const provider = rootCAProvider(kubeConfig, flags.rootCa);
  let delayMs = 200;
  for (let attempt = 1; ; attempt++) {
    signal.throwIfAborted();
    try {
      const result = await provider.load();
      if (result.ok) return result.value;
      state.reason = result.error.message;
      log.error({ provider: provider.kind, code: result.error.code, retryInMs: delayMs }, `root CA not loaded: ${result.error.message}`);
    } catch (err) {
      state.reason = `loading the root CA (${provider.kind}) failed: ${err instanceof Error ? err.message : String(err)}`;
      log[attempt <= 3 ? 'debug' : 'warn']({ err, code: statusCode(err), attempt, retryInMs: delayMs }, 'loading the root CA failed; retrying');
    }
    await sleep(delayMs * (0.8 + Math.random() * 0.4), undefined, { signal });
    delayMs = Math.min(delayMs * 2, 30_000);
  }
}

async function main(flags: Flags): Promise<void> {
  const obs = await createObservability({
    component: 'controller',
    version: { version: pkg.version },
    logLevel: flags.logLevel,
    instanceId: flags.replicaId,
    admin: { host: flags.adminAddress, port: flags.adminPort },
    tracing: flags.tracing,
    shutdown: { deadlineMs: 25_000 },
  });
  const log = obs.logger.child({ replica: flags.replicaId });
  const clock = systemClock;
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  const metrics = controllerMetrics(obs.metrics, clock);
  const start = new AbortController();
  obs.shutdown.addStep('stop-start-up', () => start.abort());
  log.info({ namespace: flags.namespace, mesh: flags.meshName, server: kubeConfig.getCurrentCluster()?.server }, 'osm-controller starting');

  const rootState = { reason: 'loading the root CA', root: undefined as LoadedRoot | undefined };
  obs.admin.addReadinessCheck('root-ca', () => (rootState.root ? { ok: true, message: `root fingerprint ${rootState.root.authority.rootFingerprint}` } : { ok: false, message: rootState.reason }));
  const informers = new MeshInformers({ client: kubeListWatchClient(kubeConfig), meshName: flags.meshName, controlPlaneNamespace: flags.namespace, logger: log.child({ subsystem: 'informers' }) });
  obs.admin.addReadinessCheck('caches-synced', () => informers.hasSynced());
  // Proxies keep being served the last known config while the API server is away; readiness says so.
  obs.admin.addReadinessCheck('kube-api', () => {
    const failing = informers.failing();
    if (!failing) return true;
    return { ok: false, message: `the API server cannot be reached since ${new Date(failing.since).toISOString()} (${failing.informers.length} watches failing: ${failing.lastError}); serving the last known config` };
  });
  let model: MeshModel | undefined;
  let listening = false;
  obs.admin.addReadinessCheck('ads', () => listening);

  const root = await loadRoot(flags, kubeConfig, log, rootState, start.signal);
  rootState.root = root;
  log.info({ rootFingerprint: root.authority.rootFingerprint, secret: `${root.secret.namespace}/${root.secret.name}`, provider: flags.rootCa.kind }, 'root CA loaded');
  const authority = metrics.timed(root.authority);
  const onCertificateError = (identity: string, err: unknown): void => log.error({ err, identity }, 'certificate renewal failed; retrying');
  const certificates = new CertificateCache({
    authority,
    // MeshConfig certificate.serviceCertValidityDuration, read at each issuance.
    validityMs: () => Math.max(MIN_SERVICE_CERT_VALIDITY_MS, (model?.settings.serviceCertValiditySeconds ?? 86_400) * 1000),
    clock,
    onError: onCertificateError,
  });

  // Only with an OTLP endpoint: otherwise none of its hooks is installed.
  const tracing = obs.tracingEnabled ? new BatchTracing({ tracer: obs.tracer, clock, maxProxiesPerBatch: flags.traceMaxProxiesPerBatch }) : undefined;
  const directory = new CatalogProxyDirectory(POD_WAIT_MS, clock);
  metrics.observeWaitingForPod(() => directory.waiting);
  const service = new AdsService({
    replicaId: flags.replicaId,
    logger: log.child({ subsystem: 'ads' }),
    verifier: new CertificateProxyVerifier({ trustDomain: flags.rootCa.trustDomain, directory, waitDescription: `${POD_WAIT_MS / 1000} s` }),
    secretOwner: certificateOwner,
    // Streams are served only once the ADS server listens, below: configs exists by then.
    events: mergeEvents({ ...metrics.ads, proxyConnected: (proxy) => configs.proxyConnected(proxy) }, tracing?.events),
  });
  const publish = tracing ? (snapshot: Snapshot, startedAt: number, push: () => void) => metrics.publish(snapshot, startedAt, () => tracing.publish(snapshot, startedAt, push)) : metrics.publish;
  const configs = new ProxyConfigs({ service, certificates, trustBundlePem: root.authority.trustBundlePem, logger: log, clock, publish });
  obs.admin.addReadinessCheck('snapshots', () => (configs.firstBuilt ? true : { ok: false, message: 'first snapshots not built yet' }));
  certificates.onRotate((event) => {
    if (event.subject.kind === 'service') configs.certificateRotated({ namespace: event.subject.namespace, name: event.subject.serviceAccount });
  });
  const recorder = new KubeEventRecorder({
    kubeConfig,
    component: 'osm-controller',
    instance: flags.replicaId,
    onError: (err, event) => log.warn({ err, object: `${event.object.kind} ${event.object.namespace ?? ''}/${event.object.name}`, reason: event.reason }, 'could not record an Event'),
  });
  const problems = new ProblemReporter(log.child({ subsystem: 'catalog' }), recorder, metrics.problems);
  const source = informerSource(informers);
  const catalog = new MeshCatalog({
    // Traced: the catalog's read of the objects starts its translation and diff (model.diff).
    source: tracing ? { ...source, objects: () => (tracing.translating(), source.objects()) } : source,
    clusterDomain: flags.clusterDomain,
    logger: log.child({ subsystem: 'catalog' }),
  });
  tracing?.watch(informers);
  catalog.subscribe((batch) => {
    model = batch.model;
    directory.onBatch(batch);
    const queued = configs.onBatch(batch);
    if (tracing) void configs.idle().then(tracing.onBatch(batch, queued));
    problems.onBatch(batch);
  });
  // The ADS server starts once the caches are synced, below.
  const ads: { server?: AdsServer } = {};
  addDebugRoutes(obs.admin, { replicaId: flags.replicaId, service, configs, model: () => model, connectionClosesAt: (peer) => ads.server?.connectionClosesAt(peer) });
  metrics.countKubeEvents(informers);
  obs.shutdown.addStep('stop-informers', () => {
    catalog.stop();
    informers.stop();
  });

  informers.start();
  await catalog.start(start.signal);
  if (start.signal.aborted) return;
  await configs.idle();
  log.info({ proxies: model?.proxies.size ?? 0, services: model?.services.size ?? 0 }, 'caches synced; first snapshots built');

  // The ADS listener opens only now: a proxy that connects finds its pod and its config.
  const serverCertificates = new CertificateCache({ authority, validityMs: SERVER_CERT_VALIDITY_MS, clock, onError: onCertificateError });
  const ns = flags.namespace;
  const subject = {
    kind: 'server' as const,
    dnsNames: [`osm-controller.${ns}.svc.${flags.clusterDomain}`, `osm-controller.${ns}.svc`, `osm-controller.${ns}`, 'osm-controller', 'localhost'],
    ipAddresses: ['127.0.0.1'],
  };
  const tls = (c: { certificatePem: string; privateKeyPem: string }): AdsTls => ({ certificatePem: c.certificatePem, privateKeyPem: c.privateKeyPem, trustBundlePem: root.authority.trustBundlePem });
  const server = await startAdsServer({
    service,
    host: flags.adsAddress,
    port: flags.adsPort,
    tls: tls(await serverCertificates.get(subject)),
    logger: log.child({ subsystem: 'ads' }),
    maxConnectionAgeMs: flags.maxConnectionAgeMs,
  });
  ads.server = server;
  serverCertificates.onRotate((event) => server.updateTls(tls(event.current)));
  listening = true;
  if (obs.shutdown.shuttingDown) return void (await server.shutdown(0));
  obs.shutdown.addStep('drain-ads', () => server.shutdown(ADS_DRAIN_MS));
  obs.shutdown.addStep('stop-certificates', () => {
    certificates.close();
    serverCertificates.close();
  });
}

const command = parseOrExit(() => parseFlags(process.argv.slice(2)));
if (command.kind === 'help') {
  process.stdout.write(`${usage}\n`);
} else if (command.kind === 'version') {
  process.stdout.write(`osm-controller ${pkg.version}\n`);
} else {
  runMain('osm-controller', () => main(command.flags));
}
