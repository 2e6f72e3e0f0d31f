// ca-bootstrap: applies the CRDs, creates the default MeshConfig if missing, creates or loads the shared
// root CA, then reports ready on the admin server (/livez, /readyz, /metrics, /version, OSM's /health/*
// aliases, from @osm/observability). Safe to run as several replicas at once and to restart at any point.
import { KubeConfig } from '@kubernetes/client-node';
import { createObservability, parseOrExit, runMain } from '@osm/observability';
import pkg from '../package.json' with { type: 'json' };
import { runBootstrap, type BootstrapState } from './bootstrap.ts';
import { parseFlags, type Flags } from './flags.ts';

async function main(flags: Flags): Promise<void> {
  const obs = await createObservability({
    component: 'ca-bootstrap',
    version: { version: pkg.version },
    logLevel: flags.logLevel,
    admin: { host: flags.adminAddress, port: flags.adminPort },
    tracing: flags.tracing,
    shutdown: { deadlineMs: 10_000 },
  });
  const logger = obs.logger;
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  const state: BootstrapState = { phase: 'starting', reason: 'starting', root: undefined, rootNotAfter: undefined };

  obs.admin.addReadinessCheck('root-ca', () =>
    state.phase === 'ready' && state.root
      ? { ok: true, message: `root fingerprint ${state.root.authority.rootFingerprint} from Secret ${state.root.secret.namespace}/${state.root.secret.name}` }
      : { ok: false, message: state.reason ?? state.phase },
  );
  obs.metrics.observableGauge('osm_ca_bootstrap_ready', { help: 'Whether CRDs, MeshConfig and the root CA are in place (1) or not (0).' }, (observe) =>
    observe(state.phase === 'ready' ? 1 : 0),
  );
  obs.metrics.observableGauge('osm_ca_root_expiry_timestamp_seconds', { help: 'When the loaded root CA expires (Unix seconds).' }, (observe) => {
    if (state.rootNotAfter !== undefined) observe(Math.floor(state.rootNotAfter / 1000));
  });
  logger.info({ namespace: flags.namespace, provider: flags.rootCa.kind, server: kubeConfig.getCurrentCluster()?.server }, 'ca-bootstrap starting');

  const abort = new AbortController();
  obs.shutdown.addStep('stop-bootstrap', () => abort.abort());
  try {
    await runBootstrap(flags, kubeConfig, logger, state, abort.signal);
  } catch (err) {
    if (!abort.signal.aborted) throw err;
  }
}

const flags = parseOrExit(() => parseFlags(process.argv.slice(2)));
if (flags.version) {
  process.stdout.write(`ca-bootstrap ${pkg.version}\n`);
  process.exit(0);
}
runMain('ca-bootstrap', () => main(flags));
