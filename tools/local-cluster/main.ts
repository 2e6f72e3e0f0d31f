// The main command (`npm start`): a whole local mesh on loopback, no cluster needed. A real
// kube-apiserver with etcd; ca-bootstrap (CRDs, default MeshConfig, the mesh root); several controller
// replicas, each with its own ADS and admin port; the injector, registered with the API server as its
// webhook by URL; OSM's bookstore demo with its SMI policies, its pods admitted by the injector; and a
// simulated Envoy sidecar per pod, spread over the replicas as a Service would spread them. It prints a
// live status until SIGINT/SIGTERM, then stops everything it started.
//
// The sidecars get their certificates the way real ones do: the injector issues each pod's bootstrap
// certificate from the root ca-bootstrap created and writes it into the pod's bootstrap Secret, and the
// simulated sidecar reads it from there. So the run also shows the path a real pod takes (admission,
// bootstrap Secret, a certificate the controllers accept), not a shortcut around it.
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { envoy } from '@osm/envoy-api';
import { bootstrapSecretName, XDS_CERT_FILE, XDS_KEY_FILE } from '@osm/injector-core';
import { meshConfigName } from '@osm/mesh-model';
import { createBookstoreWorkload, freePort, httpOk, KubeRest, ManagedProcess, startFleet, startKubeApiServer, waitFor, type Fleet, type KubeApiServer, type MeshPod } from '@osm/testing';
import { TYPE_URLS } from '@osm/xds-snapshot';
import { renderStatus, type ReplicaInfo } from './status.ts';

const defaultKubeconfig = fileURLToPath(new URL('../../.local/kubeconfig', import.meta.url));
const caBootstrapMain = fileURLToPath(new URL('../../apps/ca-bootstrap/src/main.ts', import.meta.url));
const controllerMain = fileURLToPath(new URL('../../apps/controller/src/main.ts', import.meta.url));
const injectorMain = fileURLToPath(new URL('../../apps/injector/src/main.ts', import.meta.url));

const help = `usage: npm start [-- options]

Starts a whole local mesh on 127.0.0.1, with no cluster: a Kubernetes API server (kube-apiserver +
etcd), ca-bootstrap (CRDs, the MeshConfig osm-mesh-config switched to SMI mode, the mesh root in the
Secret osm-ca-bundle), controller replicas (each serves Envoy config over ADS with mTLS), the injector
(the API server's webhook), OSM's bookstore demo with its SMI policies (pods admitted by the injector,
which writes each pod's bootstrap Secret), and a simulated Envoy sidecar per pod that connects with the
certificate from that Secret. It prints a live status (proxies per replica, config per identity, ACKs
and NACKs, certificate expiry) until Ctrl-C, then stops everything it started. Kill a controller by
its pid (kill -9 <pid>) to watch its proxies move to the other replicas and converge.

options:
  --replicas <n>       controller replicas (default: 2)
  --proxies <n>        simulated sidecars (bookstore pods) per app, 6 apps (default: 2), or per app:
                       bookbuyer=3,bookthief=1,bookstore-v1=2,bookstore-v2=2,bookwarehouse=1,mysql=1
  --mesh <name>        mesh name (default: osm)
  --namespace <name>   control-plane namespace (default: osm-system)
  --kubeconfig <path>  where to write the kubeconfig (default: .local/kubeconfig); the components'
                       logs go to local-mesh-logs/ next to it
  --admin-port <port>  ca-bootstrap's admin port (default: 9091)
  --ads-port <port>    the first controller's ADS port; replica i uses port + i (default: 15128)
  --controller-admin-port <port>  the first controller's admin port; replica i uses port + i (default: 9093)
  --injector-port <port>        the injector's webhook port (default: 9090)
  --injector-admin-port <port>  the injector's admin port (default: 9092)
  -h, --help           show this help
A port of 0 means any free port (for each replica).`;

const APP_NAMES = ['bookbuyer', 'bookthief', 'bookstore-v1', 'bookstore-v2', 'bookwarehouse', 'mysql'];
const PORT_FLAGS = ['admin-port', 'ads-port', 'controller-admin-port', 'injector-port', 'injector-admin-port'] as const;
type PortFlag = (typeof PORT_FLAGS)[number];

interface Options {
  readonly replicas: number;
  readonly proxies: number | Readonly<Record<string, number>>;
  readonly mesh: string;
  readonly namespace: string;
  readonly kubeconfig: string;
  readonly ports: Readonly<Record<PortFlag, number>>;
}

type Parsed = { readonly ok: true; readonly options: Options } | { readonly ok: false; readonly errors: readonly string[] } | { readonly ok: 'help' };

function parseOptions(args: string[]): Parsed {
  try {
    return checkOptions(args);
  } catch (err) {
    // parseArgs throws on an unknown option or a missing value; its message names the option.
    return { ok: false, errors: [(err as Error).message] };
  }
}

function checkOptions(args: string[]): Parsed {
  const { values } = parseArgs({
    args,
    options: {
      replicas: { type: 'string', default: '2' },
      proxies: { type: 'string', default: '2' },
      mesh: { type: 'string', default: 'osm' },
      namespace: { type: 'string', default: 'osm-system' },
      kubeconfig: { type: 'string', default: defaultKubeconfig },
      'admin-port': { type: 'string', default: '9091' },
      'ads-port': { type: 'string', default: '15128' },
      'controller-admin-port': { type: 'string', default: '9093' },
      'injector-port': { type: 'string', default: '9090' },
      'injector-admin-port': { type: 'string', default: '9092' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return { ok: 'help' };
  const errors: string[] = [];
  const ports = {} as Record<PortFlag, number>;
  for (const flag of PORT_FLAGS) {
    const n = Number(values[flag]);
    if (!Number.isInteger(n) || n < 0 || n > 65535) errors.push(`--${flag} ${JSON.stringify(values[flag])} is not valid: expected an integer 0-65535 (0 = a free port)`);
    ports[flag] = n;
  }
  const replicas = Number(values.replicas);
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 9) errors.push(`--replicas ${JSON.stringify(values.replicas)} is not valid: expected an integer 1-9`);
  const proxies = parseProxies(values.proxies, errors);
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(values.mesh)) errors.push(`--mesh ${JSON.stringify(values.mesh)} is not valid: expected a DNS label (lower-case letters, digits, '-')`);
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, options: { replicas, proxies, mesh: values.mesh, namespace: values.namespace, kubeconfig: resolve(values.kubeconfig), ports } };
}

function parseProxies(text: string, errors: string[]): number | Record<string, number> {
  const count = (s: string): number => (/^\d+$/.test(s) && Number(s) <= 500 ? Number(s) : NaN);
  if (!text.includes('=')) {
    const n = count(text);
    if (!(n >= 1)) errors.push(`--proxies ${JSON.stringify(text)} is not valid: expected 1-500 per app, or app=n,... with apps ${APP_NAMES.join(', ')}`);
    return n;
  }
  const perApp: Record<string, number> = {};
  for (const part of text.split(',')) {
    const [app = '', n = ''] = part.split('=');
    if (!APP_NAMES.includes(app) || Number.isNaN(count(n))) errors.push(`--proxies: ${JSON.stringify(part)} is not valid: expected app=n (n 0-500) with app one of ${APP_NAMES.join(', ')}`);
    else perApp[app] = count(n);
  }
  if (Object.values(perApp).every((n) => n === 0)) errors.push('--proxies: at least one app needs a proxy');
  return perApp;
}

/** What a run has started, for the shutdown (a signal may arrive at any point of the start). */
interface Running {
  api?: KubeApiServer;
  bootstrap?: ManagedProcess;
  controllers: ManagedProcess[];
  injector?: ManagedProcess;
  fleet?: Fleet;
  statusTimer?: NodeJS.Timeout;
  /** Written for the user; removed on stop. */
  kubeconfig?: string;
}

const running: Running = { controllers: [] };
let stopping = false;

async function shutdown(reason: string, code: number): Promise<never> {
  if (stopping) return new Promise(() => undefined);
  stopping = true;
  clearInterval(running.statusTimer);
  console.log(`${reason}: stopping the local mesh`);
  await running.fleet?.stop(5000);
  await running.injector?.stop();
  await Promise.all(running.controllers.map((c) => c.stop()));
  await running.bootstrap?.stop();
  await running.api?.stop();
  if (running.kubeconfig) rmSync(running.kubeconfig, { force: true });
  console.log('stopped');
  process.exit(code);
}

async function main(): Promise<void> {
  const parsed = parseOptions(process.argv.slice(2));
  if (parsed.ok === 'help') {
    console.log(help);
    return;
  }
  if (!parsed.ok) {
    for (const e of parsed.errors) console.error(e);
    console.error('(npm start -- --help lists the options)');
    process.exit(2);
  }
  const o = parsed.options;
  process.on('SIGINT', () => void shutdown('SIGINT', 0));
  process.on('SIGTERM', () => void shutdown('SIGTERM', 0));

  const port = async (flag: PortFlag, offset = 0): Promise<number> => (o.ports[flag] === 0 ? freePort() : o.ports[flag] + offset);
  const logDir = join(dirname(o.kubeconfig), 'local-mesh-logs');
  mkdirSync(logDir, { recursive: true });
  running.kubeconfig = o.kubeconfig;

  // ca-bootstrap applies the CRDs itself, as it does in a cluster.
  const api = await startKubeApiServer({ installCrds: false, progress: (line) => console.log(line) });
  running.api = api;
  const rest = new KubeRest(api.kubeConfig);
  const env = { ...process.env, KUBECONFIG: api.kubeconfigPath };
  const component = (name: string, main: string, args: readonly string[]): ManagedProcess => {
    const logFile = join(logDir, `${name}.log`);
    writeFileSync(logFile, '');
    const p = new ManagedProcess(name, process.execPath, [main, ...args], logFile, env);
    p.start();
    return p;
  };
  await rest.create('/api/v1/namespaces', { metadata: { name: o.namespace } });
  copyFileSync(api.kubeconfigPath, o.kubeconfig);

  const adminPort = await port('admin-port');
  const bootstrap = component('ca-bootstrap', caBootstrapMain, ['--osm-namespace', o.namespace, '--admin-address', '127.0.0.1', '--admin-port', String(adminPort)]);
  running.bootstrap = bootstrap;
  await waitFor('ca-bootstrap', bootstrap, () => httpOk(`http://127.0.0.1:${adminPort}/readyz`), 300_000);
  const rootPem = secretText(await rest.ok('GET', `/api/v1/namespaces/${o.namespace}/secrets/osm-ca-bundle`), 'ca.crt');
  const root = new X509Certificate(rootPem);
  // The bookstore demo shows SMI policies (bookbuyer may buy books, bookthief may not); OSM's default is permissive.
  await rest.patch(`/apis/config.openservicemesh.io/v1alpha2/namespaces/${o.namespace}/meshconfigs/${meshConfigName}`, { spec: { traffic: { enablePermissiveTrafficPolicyMode: false } } });

  const replicas: { process: ManagedProcess; info: Omit<ReplicaInfo, 'exit'> }[] = [];
  for (let i = 0; i < o.replicas; i++) {
    const name = `osm-controller-${i}`;
    const [ads, admin] = [await port('ads-port', i), await port('controller-admin-port', i)];
    const args = ['--osm-namespace', o.namespace, '--mesh-name', o.mesh, '--replica-id', name, '--ads-address', '127.0.0.1', '--ads-port', String(ads), '--admin-address', '127.0.0.1', '--admin-port', String(admin)];
    const proc = component(name, controllerMain, args);
    running.controllers.push(proc);
    replicas.push({ process: proc, info: { name, pid: proc.pid ?? 0, ads: `127.0.0.1:${ads}`, admin: `http://127.0.0.1:${admin}` } });
  }

  const [webhookPort, injectorAdminPort] = [await port('injector-port'), await port('injector-admin-port')];
  const injector = component('injector', injectorMain, [
    '--osm-namespace', o.namespace,
    '--mesh-name', o.mesh,
    '--webhook-address', '127.0.0.1',
    '--webhook-port', String(webhookPort),
    '--webhook-url', `https://127.0.0.1:${webhookPort}/mutate-pod-creation`,
    '--admin-address', '127.0.0.1',
    '--admin-port', String(injectorAdminPort),
    // No Service in front of the replicas here: a bootstrap names one of them; the simulated sidecars use them all.
    '--controller-address', replicas[0]?.info.ads ?? '',
    '--drain-delay', '0s',
  ]);
  running.injector = injector;
  // The replicas and the injector start together (start-up is mostly CPU: loading and compiling code).
  await Promise.all([
    ...replicas.map((r) => waitFor(r.info.name, r.process, () => httpOk(`${r.info.admin}/readyz`), 300_000)),
    waitFor('the injector', injector, () => httpOk(`http://127.0.0.1:${injectorAdminPort}/readyz`), 300_000),
  ]);

  const pods = await createBookstoreWorkload(rest, o.proxies, { injection: true, meshName: o.mesh });
  const proxies = await Promise.all(pods.map((pod) => proxySpec(rest, pod)));
  const live = (): string[] => replicas.filter((r) => r.process.running).map((r) => r.info.ads);
  const fleet = await startFleet({ servers: live(), rootPem, proxies, serverName: `osm-controller.${o.namespace}.svc.cluster.local`, keepResources: true, processes: 1 });
  running.fleet = fleet;
  // A Service stops sending new connections to a replica that is gone; the fleet does the same. With
  // none left the proxies keep their last config and keep retrying the old addresses.
  for (const r of replicas) {
    r.process.onExit(() => {
      const servers = live();
      if (!stopping && servers.length > 0) fleet.setServers(servers);
    });
  }

  console.log(
    [
      '',
      `Local mesh "${o.mesh}" running: API server ${api.url}`,
      `  export KUBECONFIG=${o.kubeconfig}    (kubectl get pods -A; kubectl -n ${o.namespace} get meshconfigs,secrets)`,
      `  ca-bootstrap admin http://127.0.0.1:${adminPort}/readyz; injector webhook https://127.0.0.1:${webhookPort}/mutate-pod-creation, admin http://127.0.0.1:${injectorAdminPort}/readyz`,
      `  controllers: /readyz, /metrics, /debug/proxies, /debug/config_dump?pod=<namespace>/<name> on their admin address below`,
      `  logs: ${logDir}/`,
      `  processes: ${[...api.pids(), bootstrap.pid, ...replicas.map((r) => r.process.pid), injector.pid, ...fleet.pids()].join(' ')}`,
      `  kill a controller (kill -9 <pid>) to see its proxies move; Ctrl-C stops everything.`,
      '',
    ].join('\n'),
  );

  const identityOf = new Map(pods.map((p) => [p.uuid, `${p.namespace}/${p.serviceAccount}`]));
  const pids = new Map([bootstrap, injector].map((c) => [c, c.pid]));
  const certs = new ServiceCerts(fleet);
  const print = statusPrinter();
  let busy = false;
  const tick = async (): Promise<void> => {
    if (busy || stopping) return;
    busy = true;
    try {
      const statuses = fleet.statuses();
      await certs.refresh(statuses);
      const status = renderStatus({
        replicas: replicas.map((r) => ({ ...r.info, exit: r.process.lastExit })),
        components: [bootstrap, injector].map((c) => ({ name: c.name, pid: pids.get(c) ?? 0, exit: c.lastExit })),
        proxies: statuses,
        identityOf,
        root: { fingerprint: root.fingerprint256, notAfter: new Date(root.validTo) },
        serviceCertNotAfter: certs.notAfter,
        now: new Date(),
      });
      if (!stopping) print(status.lines);
    } finally {
      busy = false;
    }
  };
  running.statusTimer = setInterval(() => void tick(), 1000);
  await tick();
}

function secretText(secret: Record<string, unknown>, key: string): string {
  const value = (secret['data'] as Record<string, string> | undefined)?.[key];
  if (!value) throw new Error(`Secret ${JSON.stringify((secret['metadata'] as { name?: string })?.name)} has no ${key}`);
  return Buffer.from(value, 'base64').toString('utf8');
}

/** The sidecar of `pod`, with the bootstrap certificate the injector wrote into the pod's bootstrap Secret. */
async function proxySpec(rest: KubeRest, pod: MeshPod): Promise<{ uuid: string; certificatePem: string; privateKeyPem: string }> {
  const secret = await rest.ok('GET', `/api/v1/namespaces/${pod.namespace}/secrets/${bootstrapSecretName(pod.uuid)}`);
  return { uuid: pod.uuid, certificatePem: secretText(secret, XDS_CERT_FILE), privateKeyPem: secretText(secret, XDS_KEY_FILE) };
}

/** notAfter of the service certificate each proxy holds, read from its SDS resources when their version changes. */
class ServiceCerts {
  readonly notAfter = new Map<string, Date>();
  readonly #version = new Map<string, string>();
  readonly #fleet: Fleet;
  constructor(fleet: Fleet) {
    this.#fleet = fleet;
  }

  async refresh(statuses: readonly { uuid: string; types: Readonly<Record<string, { version: string }>> }[]): Promise<void> {
    for (const s of statuses) {
      const version = s.types[TYPE_URLS.secrets]?.version ?? '';
      if (version === '' || this.#version.get(s.uuid) === version) continue;
      const held = (await this.#fleet.resources(s.uuid))[TYPE_URLS.secrets] ?? [];
      for (const r of held) {
        const chain = envoy.extensions.transport_sockets.tls.v3.Secret.decode(r.bytes).tlsCertificate?.certificateChain?.inlineBytes;
        if (chain) this.notAfter.set(s.uuid, new Date(new X509Certificate(Buffer.from(chain)).validTo));
      }
      this.#version.set(s.uuid, version);
    }
  }
}

/**
 * On a terminal: the status redrawn in place each second. Otherwise (a pipe, a file): the status printed
 * only when it changed, each time under a time stamp, so a log of a long run stays short.
 */
function statusPrinter(): (lines: readonly string[]) => void {
  let last = '';
  let drawn = 0;
  return (lines) => {
    if (process.stdout.isTTY) {
      const width = process.stdout.columns || 120;
      const text = [`status at ${new Date().toISOString().slice(11, 19)} (Ctrl-C stops)`, ...lines].map((l) => l.slice(0, width - 1));
      process.stdout.write(`${drawn > 0 ? `\x1b[${drawn}F\x1b[0J` : ''}${text.join('\n')}\n`);
      drawn = text.length;
      return;
    }
    const text = lines.join('\n');
    if (text === last) return;
    last = text;
    process.stdout.write(`--- status at ${new Date().toISOString()}\n${text}\n`);
  };
}

main().catch(async (err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  await shutdown('failed to start', 1);
});
