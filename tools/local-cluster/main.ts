// The main command (`npm start`): a local control plane on loopback, no cluster needed.
// Starts a real kube-apiserver with etcd, creates the control-plane namespace, runs ca-bootstrap
// against it (CRDs, default MeshConfig, shared root CA), and runs until SIGINT/SIGTERM.
// Then the injector, registered with the API server as its webhook by URL (issue 9); the controller
// joins with its issue.
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
const injectorMain = fileURLToPath(new URL('../../apps/injector/src/main.ts', import.meta.url));

const help = `usage: npm start [-- --namespace <name>] [-- --kubeconfig <path>] [-- --admin-port <port>]

Starts a local Kubernetes API server (kube-apiserver + etcd on 127.0.0.1), creates the control-plane
namespace, runs ca-bootstrap against it (CRDs, default MeshConfig osm-mesh-config, the shared root CA
in Secret osm-ca-bundle), runs the injector registered as the API server's webhook (pods created in
meshed namespaces get the sidecar), writes a kubeconfig (an admin client), and runs until Ctrl-C
(SIGINT) or SIGTERM, then stops everything it started.

options:
  --namespace <name>   control-plane namespace (default: osm-system)
  --kubeconfig <path>  where to write the kubeconfig (default: .local/kubeconfig)
  --admin-port <port>  ca-bootstrap's admin port on 127.0.0.1 (default: 9091)
  --injector-port <port>        the injector's webhook port on 127.0.0.1 (default: 9090)
  --injector-admin-port <port>  the injector's admin port on 127.0.0.1 (default: 9092)
  -h, --help           show this help`;

/** Polls a component's /readyz until it answers 200; returns its body. */
async function waitReady(url: string, exited: () => boolean, component = 'ca-bootstrap'): Promise<string> {
  for (let i = 0; ; i++) {
    if (exited()) throw new Error(`${component} exited before it was ready (its log is above)`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      const body = await res.text();
      if (res.status === 200) return body;
      if (i > 0 && i % 50 === 0) console.log(`waiting for ${component}: ${body}`);
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
      'injector-port': { type: 'string', default: '9090' },
      'injector-admin-port': { type: 'string', default: '9092' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(help);
    return;
  }
  const port = (flag: 'admin-port' | 'injector-port' | 'injector-admin-port'): number => {
    const n = Number(values[flag]);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`--${flag} ${JSON.stringify(values[flag])} is not valid: expected an integer 1-65535`);
    return n;
  };
  const adminPort = port('admin-port');
  const injectorPort = port('injector-port');
  const injectorAdminPort = port('injector-admin-port');
  const kubeconfig = resolve(values.kubeconfig);
  // ca-bootstrap applies the CRDs itself, as it does in a cluster.
  const api = await startKubeApiServer({ installCrds: false, progress: (line) => console.log(line) });
  // Set once ca-bootstrap is spawned; a signal may arrive before that.
  const running: { bootstrap?: ReturnType<typeof spawn>; injector?: ReturnType<typeof spawn> } = {};
  let bootstrapExited = false;
  const shutdown = async (reason: string, code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.log(`${reason}: stopping the local control plane`);
    await stopChild(running.injector);
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
    ].join('\n'),
  );

  // ---- injector (issue 9): the sidecar-injecting webhook, registered with the local API server by URL.
  const injector = startInjector(values.namespace, api.kubeconfigPath, injectorPort, injectorAdminPort);
  running.injector = injector;
  let injectorExited = false;
  injector.once('exit', (code, signal) => {
    injectorExited = true;
    if (!stopping) void shutdown(`injector exited (${signal ?? code})`, 1);
  });
  await waitReady(`http://127.0.0.1:${injectorAdminPort}/readyz`, () => injectorExited, 'the injector');
  console.log(
    [
      `  injector: webhook https://127.0.0.1:${injectorPort}/mutate-pod-creation, admin http://127.0.0.1:${injectorAdminPort}/readyz`,
      '  mesh a namespace and create a pod to see the sidecar injected:',
      '    kubectl create namespace demo',
      '    kubectl label namespace demo openservicemesh.io/monitored-by=osm',
      '    kubectl annotate namespace demo openservicemesh.io/sidecar-injection=enabled',
      "    kubectl -n demo run web --image=nginx && kubectl -n demo get pod web -o jsonpath='{.spec.initContainers[*].name} {.spec.containers[*].name}'",
    ].join('\n'),
  );
  // ---- end of the injector block

  console.log('Press Ctrl-C to stop.');
}

/** SIGTERM to a child we started, resolved once it exited. */
async function stopChild(child: ReturnType<typeof spawn> | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const ended = new Promise((done) => child.once('exit', done));
  child.kill('SIGTERM');
  await ended;
}

/** The injector against the local API server: the webhook registered by URL on loopback; sidecars dial a controller on 127.0.0.1:15128. */
function startInjector(namespace: string, kubeconfig: string, port: number, adminPort: number): ReturnType<typeof spawn> {
  return spawn(
    process.execPath,
    [
      injectorMain,
      '--osm-namespace', namespace,
      '--webhook-address', '127.0.0.1',
      '--webhook-port', String(port),
      '--webhook-url', `https://127.0.0.1:${port}/mutate-pod-creation`,
      '--admin-address', '127.0.0.1',
      '--admin-port', String(adminPort),
      '--controller-address', '127.0.0.1:15128',
      '--drain-delay', '0s',
      '--log-level', 'warn',
    ],
    { env: { ...process.env, KUBECONFIG: kubeconfig }, stdio: ['ignore', 'inherit', 'inherit'] },
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  // A shutdown under way (ca-bootstrap died) stops what was started, then exits itself.
  if (!stopping) process.exit(1);
});
