// osm-injector: the mutating webhook that meshes pods. Wiring only: the reads (namespaces, MeshConfig),
// the shared root CA, the HTTPS server with a serving certificate renewed in place, the admission
// (@osm/injector-core decides; a bootstrap certificate and Secret are written), the webhook
// configuration kept current with server-side apply, the sweep of bootstrap Secrets, and the admin
// server. SIGTERM: not ready at once, keep serving for --drain-delay, then close gracefully.
import { randomUUID } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import { CertificateCache, resolveServiceCertValidity, type CertificateSubject, type LoadedRoot } from '@osm/certificates';
import { systemClock } from '@osm/clock';
import { mutatingWebhookConfiguration, WEBHOOK_PATH, type InjectorOptions } from '@osm/injector-core';
import { kubeListWatchClient } from '@osm/k8s-informers';
import { KubeSecretStore, retryUntilDone, rootCAProvider, serverSideApply } from '@osm/k8s-writes';
import { createObservability, DURATION_BUCKETS_SECONDS, parseOrExit, runMain } from '@osm/observability';
import pkg from '../package.json' with { type: 'json' };
import { admissionHandler } from './admit.ts';
import { parseFlags, usage, type Flags } from './flags.ts';
import { clusterReads } from './kube.ts';
import { startRenewingWebhookServer, type WebhookServer } from './server.ts';
import { every, FIELD_MANAGER, sweepBootstrapSecrets } from './sweep.ts';

// AdmissionReviews of the largest pods Kubernetes stores (about 1.5 MiB) fit with room to spare.
const MAX_BODY_BYTES = 4 * 1024 * 1024;

/** The names the serving certificate carries: the Service's, localhost, and the host of --webhook-url. */
function servingSubject(flags: Flags): CertificateSubject {
  const svc = flags.webhookServiceName;
  const ns = flags.namespace;
  const dnsNames = [`${svc}.${ns}.svc.${flags.clusterDomain}`, `${svc}.${ns}.svc`, `${svc}.${ns}`, svc, 'localhost'];
  const ipAddresses = ['127.0.0.1'];
  const host = flags.webhookUrl?.hostname;
  if (host && /^\d{1,3}(\.\d{1,3}){3}$/.test(host)) {
    if (!ipAddresses.includes(host)) ipAddresses.push(host);
  } else if (host && !dnsNames.includes(host)) {
    dnsNames.push(host);
  }
  return { kind: 'server', dnsNames, ipAddresses };
}

async function main(flags: Flags): Promise<void> {
  const obs = await createObservability({
    component: 'injector',
    version: { version: pkg.version },
    logLevel: flags.logLevel,
    admin: { host: flags.adminAddress, port: flags.adminPort },
    tracing: flags.tracing,
    shutdown: { deadlineMs: 25_000, drainDelayMs: flags.drainDelayMs },
  });
  const logger = obs.logger;
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  const client = kubeListWatchClient(kubeConfig);
  const secrets = new KubeSecretStore(kubeConfig);

  const metrics = {
    responses: obs.metrics.counter('osm_admission_webhook_response_total', { help: 'Counter for responses sent by admission webhooks', labels: ['kind', 'success'] }),
    certIssued: obs.metrics.counter('osm_cert_issued_count', { help: 'Represents the total number of XDS certificates issued to proxies' }),
    certIssuedTime: obs.metrics.histogram('osm_cert_issued_time', { help: 'Histogram to track time spent to issue xds certificate', buckets: [0.0001, 0.00025, 0.0005, ...DURATION_BUCKETS_SECONDS] }),
    swept: obs.metrics.counter('osm_injector_orphan_secrets_deleted_total', { help: 'Bootstrap Secrets deleted because their pod was never admitted' }),
  };

  const state: { root?: LoadedRoot; serving?: string; webhookConfiguration?: string } = {};
  obs.admin.addReadinessCheck('root-ca', () => (state.root ? { ok: true, message: `root fingerprint ${state.root.authority.rootFingerprint}` } : { ok: false, message: `loading the root CA (${flags.rootCa.kind})` }));
  obs.admin.addReadinessCheck('webhook-server', () => (state.serving ? { ok: true, message: state.serving } : { ok: false, message: 'not serving yet' }));
  obs.admin.addReadinessCheck('webhook-configuration', () =>
    state.webhookConfiguration ? { ok: true, message: state.webhookConfiguration } : { ok: false, message: `applying MutatingWebhookConfiguration ${flags.webhookConfigName}` },
  );

  // Shutdown steps in order; each part is registered here and filled in once started.
  const abort = new AbortController();
  const running: { maintenance?: { stop(): Promise<void> }; server?: WebhookServer; certificates?: CertificateCache } = {};
  const reads = clusterReads(client, flags.namespace, logger);
  obs.shutdown.addStep('stop-start-up', () => abort.abort());
  obs.shutdown.addStep('stop-maintenance', () => running.maintenance?.stop());
  // Requests in flight get most of the shutdown deadline to finish.
  obs.shutdown.addStep('close-webhook-server', () => running.server?.close(15_000));
  obs.shutdown.addStep('stop-certificates', () => running.certificates?.close());
  obs.shutdown.addStep('stop-informers', () => {
    reads.namespaces.stop();
    reads.meshConfigs.stop();
  });
  reads.namespaces.start();
  reads.meshConfigs.start();
  obs.admin.addReadinessCheck('caches-synced', () => reads.namespaces.hasSynced() && reads.meshConfigs.hasSynced());

  logger.info({ namespace: flags.namespace, mesh: flags.meshName, provider: flags.rootCa.kind, server: kubeConfig.getCurrentCluster()?.server }, 'injector starting');
  const provider = rootCAProvider(kubeConfig, flags.rootCa);
  const root = await retryUntilDone(`loading the root CA (${provider.kind})`, logger, abort.signal, async () => {
    const result = await provider.load();
    if (result.ok) return result.value;
    logger.warn({ code: result.error.code, secret: `${flags.namespace}/${flags.rootCa.secretName}` }, `root CA not loaded: ${result.error.message}; retrying`);
    return undefined;
  });
  state.root = root;
  logger.info({ rootFingerprint: root.authority.rootFingerprint, secret: `${root.secret.namespace}/${root.secret.name}` }, 'root CA loaded');
  await Promise.all([reads.namespaces.waitForSync(abort.signal), reads.meshConfigs.waitForSync(abort.signal)]);

  const meshConfigSpec = (): Record<string, unknown> | undefined => reads.meshConfigs.list()[0]?.spec as Record<string, unknown> | undefined;
  const certificates = (running.certificates = new CertificateCache({
    authority: root.authority,
    // The webhook's certificate lives as long as the mesh's service certificates (OSM's choice).
    validityMs: () => resolveServiceCertValidity((meshConfigSpec()?.['certificate'] as Record<string, unknown> | undefined)?.['serviceCertValidityDuration']).validityMs,
    clock: systemClock,
    onError: (identity, err) => logger.error({ identity, err }, 'renewing the serving certificate failed; retrying'),
  }));
  const subject = servingSubject(flags);

  const options: InjectorOptions = {
    meshName: flags.meshName,
    osmNamespace: flags.namespace,
    controller: flags.controller,
    envoyImage: flags.envoyImage,
    initImage: flags.initImage,
    healthcheckImage: flags.healthcheckImage,
  };
  const deps = {
    logger: logger.child({ subsystem: 'admission' }),
    options,
    settings: reads.settings,
    namespace: reads.namespace,
    newUuid: randomUUID,
    issueBootstrap: (s: { proxyUuid: string; serviceAccount: string; namespace: string }) => root.authority.issue({ subject: { kind: 'bootstrap', ...s }, validityMs: flags.bootstrapCertValidityMs }),
    createSecret: (secret: Parameters<KubeSecretStore['create']>[0]) => secrets.create(secret),
    // Answer before the API server stops waiting, so the pod's creator reads our reason.
    secretTimeoutMs: flags.webhookTimeoutSeconds * 800,
    metrics,
  };
  const { server, certificate: serving } = await startRenewingWebhookServer(
    {
      host: flags.webhookAddress,
      port: flags.webhookPort,
      path: WEBHOOK_PATH,
      maxBodyBytes: MAX_BODY_BYTES,
      handle: admissionHandler(deps, obs.tracingEnabled ? obs.tracer : undefined),
      logger,
    },
    certificates,
    subject,
  );
  running.server = server;
  state.serving = `https://${flags.webhookAddress}:${server.port}${WEBHOOK_PATH}, certificate serial ${serving.serial}`;
  logger.info({ address: flags.webhookAddress, port: server.port, path: WEBHOOK_PATH, dnsNames: subject.kind === 'server' ? subject.dnsNames : [] }, 'webhook server listening');

  const configuration = mutatingWebhookConfiguration({
    name: flags.webhookConfigName,
    meshName: flags.meshName,
    osmNamespace: flags.namespace,
    caBundlePem: root.authority.trustBundlePem,
    target: flags.webhookUrl ? { url: flags.webhookUrl.href } : { serviceName: flags.webhookServiceName },
    failurePolicy: flags.failurePolicy,
    timeoutSeconds: flags.webhookTimeoutSeconds,
  });
  const applyConfiguration = (): Promise<unknown> => serverSideApply(kubeConfig, [configuration], { fieldManager: FIELD_MANAGER });
  await retryUntilDone(`applying MutatingWebhookConfiguration ${flags.webhookConfigName}`, logger, abort.signal, async () => (await applyConfiguration(), true));
  state.webhookConfiguration = `MutatingWebhookConfiguration ${flags.webhookConfigName} applied`;
  logger.info({ name: flags.webhookConfigName, target: flags.webhookUrl?.href ?? `${flags.webhookServiceName}.${flags.namespace}:9090` }, 'webhook configuration applied');

  // Each interval: re-apply the configuration (a no-op unless someone changed it) and sweep.
  const sweep = { kubeConfig, client, secrets, meshName: flags.meshName, graceMs: flags.orphanGraceMs, clock: systemClock, logger: logger.child({ subsystem: 'sweep' }), deleted: metrics.swept };
  running.maintenance = every(flags.sweepIntervalMs, systemClock, Math.random, logger, 'maintenance', async (signal) => {
    await applyConfiguration();
    const report = await sweepBootstrapSecrets(sweep, signal);
    if (report.deleted > 0 || report.adopted > 0) logger.debug({ ...report }, 'bootstrap Secrets swept');
  });
}

const flags = parseOrExit(() => parseFlags(process.argv.slice(2)));
if (flags.help) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}
if (flags.version) {
  process.stdout.write(`osm-injector ${pkg.version}\n`);
  process.exit(0);
}
runMain('injector', () => main(flags));
