// ca-bootstrap: applies the CRDs, creates the default MeshConfig if missing, creates or
// loads the shared root CA, then serves /livez, /readyz, /metrics and /version. Safe to run as several
// replicas at once and to restart at any point.
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import pkg from '../package.json' with { type: 'json' };
import { startAdminServer } from './admin.ts';
import { runBootstrap, type BootstrapState } from './bootstrap.ts';
import { FlagError, parseFlags, type Flags } from './flags.ts';

function metricsText(state: BootstrapState): string {
  const lines = [
    '# HELP osm_version_info OSM version information.',
    '# TYPE osm_version_info gauge',
    `osm_version_info{version="${pkg.version}",component="ca-bootstrap"} 1`,
    '# HELP osm_ca_bootstrap_ready Whether CRDs, MeshConfig and the root CA are in place (1) or not (0).',
    '# TYPE osm_ca_bootstrap_ready gauge',
    `osm_ca_bootstrap_ready ${state.phase === 'ready' ? 1 : 0}`,
  ];
  if (state.rootNotAfter !== undefined) {
    lines.push('# HELP osm_ca_root_expiry_timestamp_seconds When the root CA expires.', '# TYPE osm_ca_root_expiry_timestamp_seconds gauge');
    lines.push(`osm_ca_root_expiry_timestamp_seconds ${Math.floor(state.rootNotAfter / 1000)}`);
  }
  return lines.join('\n') + '\n';
}

async function main(flags: Flags): Promise<void> {
  const logger = pino({ level: flags.logLevel, base: { component: 'ca-bootstrap', pid: process.pid } });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  const state: BootstrapState = { phase: 'starting', reason: 'starting', root: undefined, rootNotAfter: undefined };
  const admin = await startAdminServer(
    {
      notReadyReason: () => (state.phase === 'ready' ? undefined : (state.reason ?? state.phase)),
      readyDetails: () => ({ rootFingerprint: state.root?.authority.rootFingerprint, secret: state.root ? `${state.root.secret.namespace}/${state.root.secret.name}` : undefined }),
      metrics: () => metricsText(state),
      version: () => ({ version: pkg.version, component: 'ca-bootstrap' }),
    },
    flags.adminAddress,
    flags.adminPort,
  );
  logger.info({ address: flags.adminAddress, port: admin.port, namespace: flags.namespace, server: kubeConfig.getCurrentCluster()?.server }, 'admin server listening');

  const abort = new AbortController();
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    abort.abort();
    admin.close().then(
      () => {
        logger.flush();
        process.exit(0);
      },
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  try {
    await runBootstrap(flags, kubeConfig, logger, state, abort.signal);
  } catch (err) {
    if (!abort.signal.aborted) throw err;
  }
}

let flags: Flags;
try {
  flags = parseFlags(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`${err instanceof FlagError ? err.message : String(err)}\n`);
  process.exit(2);
}
main(flags).catch((err: unknown) => {
  process.stderr.write(`ca-bootstrap: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
