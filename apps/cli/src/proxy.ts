// osm proxy get config_dump POD -n NS: the configuration a sidecar received, as the controller holds
// it (/debug/config_dump on its admin port). Each controller replica is asked through the API server's
// pod proxy (on each pod's admin port) and the one the proxy is connected to answers; --controller-url
// asks one address directly.
import { writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { proxyUuidLabel } from '@osm/mesh-model';
import { parse, stringFlag } from './args.ts';
import { CliError } from './errors.ts';
import type { Io } from './io.ts';
import { kubeError, loadKubeConfig } from './kube.ts';

export const proxyUsage = `Read a sidecar proxy's configuration from the control plane.

Usage:
  osm proxy get config_dump POD [flags]

Flags:
  -n, --namespace NAME        namespace of the pod (default default)
      --osm-namespace NAME    control-plane namespace (default osm-system)
      --controller-url URL    ask this controller admin address (http://host:9091) instead of every
                              replica through the API server
  -f, --file PATH             write the output to a file
  -h, --help                  this help

Example:
  osm proxy get config_dump bookbuyer-5ccf77f46d-rc5mg -n bookbuyer
`;

/** The chart names the admin server's container port `admin`; 9091 (its default) for a pod without one. */
const ADMIN_PORT_NAME = 'admin';
const DEFAULT_ADMIN_PORT = 9091;

function adminPort(pod: V1Pod): number {
  const ports = (pod.spec?.containers ?? []).flatMap((c) => c.ports ?? []);
  return ports.find((p) => p.name === ADMIN_PORT_NAME)?.containerPort ?? DEFAULT_ADMIN_PORT;
}

interface Dump {
  readonly connected?: unknown;
}

async function fromUrl(url: string, query: string): Promise<string> {
  const target = `${url.replace(/\/$/, '')}/debug/config_dump?${query}`;
  let res: Response;
  try {
    res = await fetch(target, { signal: AbortSignal.timeout(30_000) });
  } catch (err) {
    throw new CliError('kube', `cannot reach the controller at ${target}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`, { cause: err });
  }
  const body = await res.text();
  if (!res.ok) throw new CliError(res.status === 404 ? 'not-found' : 'kube', `${target}: HTTP ${res.status}: ${body.trim().split('\n')[0]}`);
  return body;
}

/**
 * GET through the API server's pod proxy, answered as the pod wrote it. (The client's
 * connectGetNamespacedPodProxyWithPath escapes a query into the path, `config_dump%3Fpod=...`, and
 * hands back a JSON answer parsed.)
 */
async function podProxyGet(kc: KubeConfig, namespace: string, podAndPort: string, pathAndQuery: string): Promise<string> {
  const server = kc.getCurrentCluster()?.server.replace(/\/$/, '') ?? '';
  const url = new URL(`${server}/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(podAndPort)}/proxy/${pathAndQuery}`);
  const options: RequestOptions & { headers?: Record<string, string> } = {};
  await kc.applyToHTTPSOptions(options as never);
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'http:' ? httpRequest : httpsRequest)(url, { ...options, method: 'GET', timeout: 30_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) return resolve(text);
        let message = text.trim().split('\n')[0] ?? '';
        try {
          message = String((JSON.parse(text) as { message?: unknown }).message ?? message);
        } catch {
          // the pod's own answer, not a Status object
        }
        reject(new CliError(status === 404 ? 'not-found' : 'kube', `HTTP ${status}: ${message}`));
      });
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 30 s')));
    req.on('error', (err) => reject(new CliError('kube', `GET ${url.pathname}: ${err.message}`, { cause: err })));
    req.end();
  });
}

async function fromReplicas(kc: KubeConfig, osmNamespace: string, query: string, pod: string): Promise<string> {
  const core = kc.makeApiClient(CoreV1Api);
  let replicas;
  try {
    replicas = (await core.listNamespacedPod({ namespace: osmNamespace, labelSelector: 'app=osm-controller' })).items;
  } catch (err) {
    throw kubeError(`listing the osm-controller pods in ${osmNamespace}`, err);
  }
  if (replicas.length === 0) throw new CliError('not-found', `no osm-controller pods in namespace ${osmNamespace}: is the mesh installed there (--osm-namespace)?`);
  const answers: string[] = [];
  const failures: string[] = [];
  for (const replica of replicas) {
    const name = replica.metadata?.name ?? '';
    try {
      const body = await podProxyGet(kc, osmNamespace, `${name}:${adminPort(replica)}`, `debug/config_dump?${query}`);
      if ((JSON.parse(body) as Dump).connected === true) return body;
      answers.push(body);
    } catch (err) {
      failures.push(`${name}: ${err instanceof CliError ? err.message : kubeError('', err).message.replace(/^: /, '')}`);
    }
  }
  if (answers.length === 0) throw new CliError('kube', `no osm-controller replica answered for ${pod}: ${failures.join('; ')}`);
  throw new CliError('not-found', `proxy of pod ${pod} is not connected to any of the ${replicas.length} osm-controller replicas in ${osmNamespace}`);
}

export async function proxy(argv: readonly string[], io: Io): Promise<void> {
  const p = parse(
    argv,
    {
      namespace: { type: 'string', short: 'n', default: 'default' },
      'osm-namespace': { type: 'string', default: 'osm-system' },
      'controller-url': { type: 'string' },
      file: { type: 'string', short: 'f' },
    },
    'osm proxy get',
  );
  if (p.help) return io.out(proxyUsage);
  const [verb, query, podName, ...rest] = p.positionals;
  if (verb !== 'get' || !query || !podName || rest.length > 0) throw new CliError('usage', "expected 'osm proxy get config_dump POD'. Run 'osm proxy --help' for usage");
  if (query !== 'config_dump') throw new CliError('usage', `query ${JSON.stringify(query)} is not supported: allowed queries are config_dump`);
  const namespace = stringFlag(p.values, 'namespace');
  const pod = `${namespace}/${podName}`;
  const controllerUrl = stringFlag(p.values, 'controller-url');
  const kc = loadKubeConfig();
  let labels;
  try {
    labels = (await kc.makeApiClient(CoreV1Api).readNamespacedPod({ name: podName, namespace })).metadata?.labels ?? {};
  } catch (err) {
    throw kubeError(`Could not get pod ${pod}`, err);
  }
  if (!labels[proxyUuidLabel]) throw new CliError('refused', `Pod ${pod} is not a part of the mesh: it has no ${proxyUuidLabel} label`);
  const podQuery = `pod=${encodeURIComponent(pod)}`;
  const body = controllerUrl ? await fromUrl(controllerUrl, podQuery) : await fromReplicas(kc, stringFlag(p.values, 'osm-namespace'), podQuery, pod);
  const pretty = `${JSON.stringify(JSON.parse(body) as unknown, null, 2)}\n`;
  const file = stringFlag(p.values, 'file');
  if (file) writeFileSync(file, pretty);
  else io.out(pretty);
}
