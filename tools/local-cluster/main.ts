// The main command (`npm start`): a local control plane on loopback, no cluster needed.
// Starts a real kube-apiserver with etcd, creates the control-plane namespace, runs ca-bootstrap
// against it (CRDs, default MeshConfig, shared root CA), and runs until SIGINT/SIGTERM.
// Later issues add the controller and the injector on top of it.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CoreV1Api } from '@kubernetes/client-node';
import { startKubeApiServer } from '@osm/testing';

const defaultKubeconfig = fileURLToPath(new URL('../../.local/kubeconfig', import.meta.url));
const caBootstrapMain = fileURLToPath(new URL('../../apps/ca-bootstrap/src/main.ts', import.meta.url));

const help = `usage: npm start [-- --namespace <name>] [-- --kubeconfig <path>] [-- --admin-port <port>]

Starts a local Kubernetes API server (kube-apiserver + etcd on 127.0.0.1), creates the control-plane
namespace, runs ca-bootstrap against it (CRDs, default MeshConfig osm-mesh-config, the shared root CA
in Secret osm-ca-bundle), writes a kubeconfig (an admin client), and runs until Ctrl-C (SIGINT) or
SIGTERM, then stops everything it started.

options:
  --namespace <name>   control-plane namespace (default: osm-system)
  --kubeconfig <path>  where to write the kubeconfig (default: .local/kubeconfig)
  --admin-port <port>  ca-bootstrap's admin port on 127.0.0.1 (default: 9091)
  -h, --help           show this help`;

/** Polls ca-bootstrap's /readyz until it answers 200; returns its body. */
async function waitReady(url: string, exited: () => boolean): Promise<string> {
  for (let i = 0; ; i++) {
    if (exited()) throw new Error('ca-bootstrap exited before it was ready (its log is above)');
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      const body = await res.text();
      if (res.status === 200) return body;
      if (i > 0 && i % 50 === 0) console.log(`waiting for ca-bootstrap: ${body}`);
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
}

let stopping = false;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      namespace: { type: 'string', default: 'osm-system' },
      kubeconfig: { type: 'string', default: defaultKubeconfig },
      'admin-port': { type: 'string', default: '9091' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(help);
    return;
  }
  const adminPort = Number(values['admin-port']);
  if (!Number.isInteger(adminPort) || adminPort < 1 || adminPort > 65535) {
    throw new Error(`--admin-port ${JSON.stringify(values['admin-port'])} is not valid: expected an integer 1-65535`);
  }
  const kubeconfig = resolve(values.kubeconfig);
  // ca-bootstrap applies the CRDs itself, as it does in a cluster.
  const api = await startKubeApiServer({ installCrds: false, progress: (line) => console.log(line) });
  // Set once ca-bootstrap is spawned; a signal may arrive before that.
  const running: { bootstrap?: ReturnType<typeof spawn> } = {};
  let bootstrapExited = false;
  const shutdown = async (reason: string, code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.log(`${reason}: stopping the local control plane`);
    const { bootstrap } = running;
    if (bootstrap && !bootstrapExited) {
      const ended = new Promise((done) => bootstrap.once('exit', done));
      bootstrap.kill('SIGTERM');
      await ended;
    }
    await api.stop();
    rmSync(kubeconfig, { force: true });
    console.log('stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown('SIGINT', 0));
  process.on('SIGTERM', () => void shutdown('SIGTERM', 0));

  await api.kubeConfig.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: values.namespace } } });
  mkdirSync(dirname(kubeconfig), { recursive: true });
  copyFileSync(api.kubeconfigPath, kubeconfig);

  const bootstrap = spawn(
    process.execPath,
    [caBootstrapMain, '--osm-namespace', values.namespace, '--admin-address', '127.0.0.1', '--admin-port', String(adminPort), '--log-level', 'warn'],
    { env: { ...process.env, KUBECONFIG: api.kubeconfigPath }, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  running.bootstrap = bootstrap;
  bootstrap.once('exit', (code, signal) => {
    bootstrapExited = true;
    if (!stopping) void shutdown(`ca-bootstrap exited (${signal ?? code})`, 1);
  });
  const readyz = `http://127.0.0.1:${adminPort}/readyz`;
  const ready = await waitReady(readyz, () => bootstrapExited);
  const root = /root fingerprint (\S+)/.exec(ready)?.[1] ?? '(see /readyz)';
  console.log(
    [
      '',
      `Local control plane ready: ${api.url}`,
      `  namespace ${values.namespace}: CRDs applied, MeshConfig osm-mesh-config, root CA osm-ca-bundle (fingerprint ${root})`,
      `  ca-bootstrap admin: ${readyz} (also /livez, /metrics, /version)`,
      '  point kubectl (or any client) at it:',
      `    export KUBECONFIG=${kubeconfig}`,
      `    kubectl -n ${values.namespace} get meshconfigs,secrets`,
      'Press Ctrl-C to stop.',
    ].join('\n'),
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  // A shutdown under way (ca-bootstrap died) stops what was started, then exits itself.
  if (!stopping) process.exit(1);
});
