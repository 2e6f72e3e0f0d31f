// A real Kubernetes API for tests: etcd and kube-apiserver on free loopback ports, with RBAC,
// admission webhooks, a service-account signing key, an admin client certificate, and the CRDs
// from deploy/crds installed. Flags follow controller-runtime envtest's control plane. Every start first
// reaps what SIGKILLed test processes left behind (reaper.ts).
import { request } from 'node:https';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiextensionsV1Api, CustomObjectsApi, KubeConfig, loadAllYaml, type V1CustomResourceDefinition } from '@kubernetes/client-node';
import { controlPlaneBinaries } from './binaries.ts';
import { createControlPlanePki, type ControlPlanePki } from './pki.ts';
import { freePort } from './ports.ts';
import { httpOk, ManagedProcess, waitFor } from './process.ts';
import { HARNESS_DIR_PREFIX, reapOrphans, writeOwnerRecord } from './reaper.ts';

export interface KubeApiServerOptions {
  /** Install the CRDs from deploy/crds (default true). */
  readonly installCrds?: boolean;
  /** Where progress lines go (default: stderr). */
  readonly progress?: (line: string) => void;
}

export interface KubeApiServer {
  /** An admin client (group system:masters). */
  readonly kubeConfig: KubeConfig;
  /** The same kubeconfig as a file, for child processes (KUBECONFIG) and kubectl. */
  readonly kubeconfigPath: string;
  /** https://127.0.0.1:<port> */
  readonly url: string;
  /** etcd's client URL (its JSON gateway serves /v3/kv/range, /v3/kv/compaction, ...). */
  readonly etcdUrl: string;
  /** The CA that signed the API server's serving certificate and the admin client certificate. */
  readonly caPem: string;
  /** Process ids of what is running now (for tests that check nothing is left behind). */
  pids(): number[];
  stopApiServer(signal?: NodeJS.Signals): Promise<void>;
  startApiServer(): Promise<void>;
  stopEtcd(signal?: NodeJS.Signals): Promise<void>;
  startEtcd(): Promise<void>;
  /** Stops everything it started and removes its files; safe to call twice. */
  stop(): Promise<void>;
}

const crdDir = fileURLToPath(new URL('../../../deploy/crds/', import.meta.url));

function get(url: string, tls: { ca: string; cert?: string; key?: string }): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { ...tls, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

function kubeconfigYaml(url: string, pki: ControlPlanePki): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: osm-ts-local',
    '  cluster:',
    `    server: ${url}`,
    `    certificate-authority-data: ${b64(pki.caCert)}`,
    'users:',
    '- name: osm-ts-admin',
    '  user:',
    `    client-certificate-data: ${b64(pki.adminCert)}`,
    `    client-key-data: ${b64(pki.adminKey)}`,
    'contexts:',
    '- name: osm-ts-local',
    '  context: { cluster: osm-ts-local, user: osm-ts-admin }',
    'current-context: osm-ts-local',
    '',
  ].join('\n');
}

// client-node's loader yields typed objects: its serializer drops keys it does not know, such as a
// plain `x-kubernetes-preserve-unknown-fields` (typed: xKubernetesPreserveUnknownFields).
export function loadCrds(): V1CustomResourceDefinition[] {
  return readdirSync(crdDir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((f) => loadAllYaml(readFileSync(join(crdDir, f), 'utf8')) as V1CustomResourceDefinition[]);
}

async function installCrds(kubeConfig: KubeConfig): Promise<void> {
  const api = kubeConfig.makeApiClient(ApiextensionsV1Api);
  const crds = loadCrds();
  for (const body of crds) {
    try {
      await api.createCustomResourceDefinition({ body });
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
    }
  }
  for (const crd of crds) {
    const name = crd.metadata?.name ?? '';
    for (let i = 0; ; i++) {
      const current = await api.readCustomResourceDefinition({ name });
      if (current.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (i > 300) throw new Error(`CRD ${name} not established`);
      await sleep(50);
    }
  }
  // Established is not yet served: the resource's storage answers 429 until its cache is initialized.
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  for (const crd of crds) {
    const { group, names, versions } = crd.spec;
    for (const { name: version } of versions) {
      for (let i = 0; ; i++) {
        try {
          await custom.listClusterCustomObject({ group, version, plural: names.plural, limit: 1 });
          break;
        } catch (err) {
          if ((err as { code?: number }).code !== 429 || i > 300) throw err;
          await sleep(50);
        }
      }
    }
  }
}

export async function startKubeApiServer(options: KubeApiServerOptions = {}): Promise<KubeApiServer> {
  const progress = options.progress ?? ((line: string) => process.stderr.write(`[kube-apiserver] ${line}\n`));
  for (const r of await reapOrphans()) {
    progress(`reaped ${r.killed.join(', ') || 'nothing running'} and ${r.dir}, left behind by test process ${r.ownerPid} (gone)`);
  }
  const binaries = await controlPlaneBinaries(progress);
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), HARNESS_DIR_PREFIX));
  writeOwnerRecord(dir, []);
  const pki = await createControlPlanePki(new Date());
  const file = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content, { mode: 0o600 });
    return path;
  };
  const [etcdPort, etcdPeerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
  const url = `https://127.0.0.1:${apiPort}`;

  const etcd = new ManagedProcess('etcd', binaries.etcd, [
    '--name=default',
    `--data-dir=${join(dir, 'etcd')}`,
    `--listen-client-urls=${etcdUrl}`,
    `--advertise-client-urls=${etcdUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=default=${peerUrl}`,
    '--unsafe-no-fsync=true',
    '--log-level=warn',
  ], join(dir, 'etcd.log'));

  const apiServer = new ManagedProcess('kube-apiserver', binaries.kubeApiServer, [
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${apiPort}`,
    `--tls-cert-file=${file('serving.crt', pki.servingCert)}`,
    `--tls-private-key-file=${file('serving.key', pki.servingKey)}`,
    `--client-ca-file=${file('ca.crt', pki.caCert)}`,
    `--etcd-servers=${etcdUrl}`,
    '--service-cluster-ip-range=10.0.0.0/16',
    '--allow-privileged=true',
    '--authorization-mode=RBAC',
    // The webhooks are on by default; ServiceAccount admission needs a controller-manager that is not here.
    '--enable-admission-plugins=MutatingAdmissionWebhook,ValidatingAdmissionWebhook',
    '--disable-admission-plugins=ServiceAccount',
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${file('sa.pub', pki.serviceAccountPublicKey)}`,
    `--service-account-signing-key-file=${file('sa.key', pki.serviceAccountKey)}`,
    '--endpoint-reconciler-type=none',
    `--cert-dir=${join(dir, 'certs')}`,
  ], join(dir, 'kube-apiserver.log'));

  const kubeconfigPath = file('kubeconfig', kubeconfigYaml(url, pki));
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  const tls = { ca: pki.caCert, cert: pki.adminCert, key: pki.adminKey };

  // Kept current as processes (re)start, so a sweep after a SIGKILL finds what is running now.
  const recordOwner = (): void => writeOwnerRecord(dir, [etcd, apiServer].map((p) => ({ name: p.name, pid: p.pid })));
  const startEtcd = async () => {
    etcd.start();
    recordOwner();
    await waitFor('etcd', etcd, () => httpOk(`${etcdUrl}/health`));
  };
  const startApiServer = async () => {
    apiServer.start();
    recordOwner();
    await waitFor('kube-apiserver', apiServer, async () => (await get(`${url}/readyz`, tls)) === 200);
  };
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await apiServer.stop();
    await etcd.stop();
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await startEtcd();
    await startApiServer();
    progress(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s at ${url} (KUBECONFIG=${kubeconfigPath})`);
    if (options.installCrds ?? true) await installCrds(kubeConfig);
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    kubeConfig,
    kubeconfigPath,
    url,
    etcdUrl,
    caPem: pki.caCert,
    pids: () => [etcd.pid, apiServer.pid].filter((p): p is number => p !== undefined),
    stopApiServer: (signal) => apiServer.stop(signal),
    startApiServer,
    stopEtcd: (signal) => etcd.stop(signal),
    startEtcd,
    stop,
  };
}
