// B5: the injector as the API server's webhook (a real kube-apiserver + etcd, the injector a child
// process). Two measurements at 10, 50 and 100 in flight:
//
// - cN_webhook_p50_ms / _p99_ms / _max_ms (the figure BENCHMARKS.md asks for): one AdmissionReview POSTed
//   straight to the injector's HTTPS endpoint until its answer is read, as the API server calls it: over
//   keep-alive TLS connections (one per request in flight), not a dry run, so each admission issues a
//   bootstrap certificate and creates its Secret on the API server before answering; every pod has its own
//   name and uid. cN_webhook_failed counts answers that were not an allowed review with a patch;
//   cN_webhook_secrets counts the Secrets found afterwards for the pods admitted (listed from the API
//   server: each admitted pod's Secret must be there). cN_webhook_injector_cpu_ms and
//   cN_webhook_apiserver_cpu_ms are CPU per review of the injector and of kube-apiserver + etcd, which
//   tells our own cost from the Secret write's.
// - cN_p50_ms / _p99_ms: whole pod creations through the API server, which calls the webhook (kept as
//   context: what a user creating pods sees); cN_no_webhook_* are the same creations in a namespace the
//   webhook does not select: the API server's own cost.
//
// Options: --reviews 1000 (per level, direct), --pods 500 (per level, through the API server),
// --cpu-prof <dir> (the injector writes a CPU profile there when it stops).
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:https';
import { fileURLToPath } from 'node:url';
import { freePort, KubeRest, startKubeApiServer } from '@osm/testing';
import { cpuMs, percentile } from './stats.ts';
import type { Benchmark, BenchResult } from './types.ts';

const injectorMain = fileURLToPath(new URL('../../apps/injector/src/main.ts', import.meta.url));

const pod = (name: string): Record<string, unknown> => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels: { app: 'bench' } },
  spec: { serviceAccountName: 'bench', containers: [{ name: 'app', image: 'bench:v1', ports: [{ name: 'http', containerPort: 8080 }], readinessProbe: { httpGet: { path: '/ready', port: 'http' } } }] },
});

/** The AdmissionReview the API server would send for creating pod `name` in `namespace`. */
const review = (namespace: string, name: string, dryRun: boolean): string =>
  JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: randomUUID(),
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      name,
      namespace,
      operation: 'CREATE',
      userInfo: { username: 'bench', groups: ['system:authenticated'] },
      object: { ...pod(name), metadata: { name, namespace, labels: { app: 'bench' } } },
      oldObject: null,
      dryRun,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
    },
  });

interface Webhook {
  readonly port: number;
  readonly caPem: string;
}

/** One review over `agent`: the bootstrap Secret's name when the pod was admitted with a patch, else the reason. */
function postReview(webhook: Webhook, agent: Agent, body: string): Promise<{ secret: string } | { failed: string }> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port: webhook.port, path: '/mutate-pod-creation', method: 'POST', agent, ca: webhook.caPem, servername: 'localhost', headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => (text += c));
        res.on('end', () => {
          const response = (JSON.parse(text) as { response?: { allowed?: boolean; patch?: string; status?: { message?: string } } }).response;
          const patch = response?.allowed && response.patch ? Buffer.from(response.patch, 'base64').toString('utf8') : '';
          const secret = /envoy-bootstrap-config-[0-9a-f-]{36}/.exec(patch)?.[0];
          resolve(res.statusCode === 200 && secret ? { secret } : { failed: `HTTP ${res.statusCode} ${response?.status?.message ?? text.slice(0, 200)}` });
        });
      },
    );
    req.on('error', (err) => resolve({ failed: err.message }));
    req.end(body);
  });
}

/**
 * Runs `op(0..count-1)` with `inFlight` workers: the round trip of each success in ms (sorted), what
 * the successes returned, and the failures (each reported, none fatal).
 */
async function timed<T>(count: number, inFlight: number, op: (i: number) => Promise<{ value: T } | { failed: string }>, progress: (line: string) => void): Promise<{ latencies: number[]; values: T[]; failed: number }> {
  const latencies: number[] = [];
  const values: T[] = [];
  let failed = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const started = performance.now();
      const outcome = await op(i);
      const ms = performance.now() - started;
      if ('value' in outcome) {
        latencies.push(ms);
        values.push(outcome.value);
      } else {
        failed++;
        progress(outcome.failed);
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { latencies: latencies.sort((a, b) => a - b), values, failed };
}

/** POSTs `count` reviews over one keep-alive agent: round trips, the Secrets named by the patches, failures. */
async function postReviews(webhook: Webhook, agent: Agent, namespace: string, prefix: string, count: number, inFlight: number, dryRun: boolean, progress: (line: string) => void): Promise<{ latencies: number[]; secrets: string[]; failed: number }> {
  const { latencies, values, failed } = await timed<string>(
    count,
    inFlight,
    async (i) => {
      const outcome = await postReview(webhook, agent, review(namespace, `${prefix}-${i}`, dryRun));
      return 'secret' in outcome ? { value: outcome.secret } : { failed: `review ${prefix}-${i} failed: ${outcome.failed}` };
    },
    progress,
  );
  return { latencies, secrets: values, failed };
}

/** Creates `count` pods through the API server: the latency of each successful create and the failures. */
async function createPods(rest: KubeRest, namespace: string, prefix: string, count: number, inFlight: number, progress: (line: string) => void): Promise<{ latencies: number[]; failed: number }> {
  return timed(
    count,
    inFlight,
    async (i) => {
      // A failed creation (an error answer, or the connection dropped) is counted, not fatal.
      const r = await rest.call('POST', `/api/v1/namespaces/${namespace}/pods`, pod(`${prefix}-${i}`)).catch((err: unknown) => ({ status: 0, body: { message: (err as Error).message } }));
      return r.status === 201 ? { value: undefined } : { failed: `creating pod ${namespace}/${prefix}-${i} failed: HTTP ${r.status} ${JSON.stringify((r.body as { message?: string } | undefined)?.message)}` };
    },
    progress,
  );
}

export const B5: Benchmark = {
  id: 'B5',
  description: 'webhook: AdmissionReviews straight to the injector over HTTPS (Secret written) and pod creations through the API server, p50/p99 at 10, 50, 100 in flight (options: --reviews 1000 --pods 500 --cpu-prof <dir>)',
  async run(options, progress): Promise<BenchResult[]> {
    const reviews = Number(options['reviews'] ?? 1000);
    const count = Number(options['pods'] ?? 500);
    const api = await startKubeApiServer({ progress });
    const rest = new KubeRest(api.kubeConfig);
    const port = await freePort();
    const nodeArgs = options['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${options['cpu-prof']}`] : [];
    // The Secrets of the direct reviews have no pod: a long --orphan-grace keeps the sweep from deleting them while they are counted.
    const injector = spawn(
      process.execPath,
      [...nodeArgs, injectorMain, '--webhook-address', '127.0.0.1', '--webhook-port', String(port), '--webhook-url', `https://127.0.0.1:${port}/mutate-pod-creation`, '--admin-address', '127.0.0.1', '--admin-port', '0', '--log-level', 'warn', '--drain-delay', '0s', '--sweep-interval', '10m', '--orphan-grace', '1h'],
      { env: { ...process.env, KUBECONFIG: api.kubeconfigPath }, stdio: ['ignore', 'inherit', 'inherit'] },
    );
    try {
      await rest.create('/api/v1/namespaces', { metadata: { name: 'osm-system' } });
      await rest.create('/api/v1/namespaces', { metadata: { name: 'meshed', labels: { 'openservicemesh.io/monitored-by': 'osm' }, annotations: { 'openservicemesh.io/sidecar-injection': 'enabled' } } });
      await rest.create('/api/v1/namespaces', { metadata: { name: 'unmeshed' } });
      // Ready once a pod of the meshed namespace comes back with its sidecar.
      for (let i = 0; ; i++) {
        const r = await rest.call('POST', '/api/v1/namespaces/meshed/pods?dryRun=All', pod(`probe-${i}`));
        const containers = ((r.body as { spec?: { containers?: { name: string }[] } } | undefined)?.spec?.containers ?? []).map((c) => c.name);
        if (r.status === 201 && containers.includes('envoy')) break;
        if (injector.exitCode !== null) throw new Error('the injector exited');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const root = await rest.ok('GET', '/api/v1/namespaces/osm-system/secrets/osm-ca-bundle');
      const webhook: Webhook = { port, caPem: Buffer.from((root['data'] as Record<string, string>)['ca.crt'] ?? '', 'base64').toString('utf8') };
      const secretNames = async (): Promise<Set<string>> => {
        const list = await rest.ok('GET', '/api/v1/namespaces/meshed/secrets?labelSelector=osm-proxy-uuid');
        return new Set((list['items'] as { metadata: { name: string } }[]).map((s) => s.metadata.name));
      };
      const processCpu = (): { injector: number; apiServer: number } => ({ injector: cpuMs([injector.pid ?? 0]), apiServer: cpuMs(api.pids()) });

      progress('injector ready; warming up (100 pods, 500 reviews)');
      await createPods(rest, 'meshed', 'warm', 100, 10, progress);
      await createPods(rest, 'unmeshed', 'warm', 100, 10, progress);
      const warmAgent = new Agent({ keepAlive: true, maxSockets: 10 });
      await postReviews(webhook, warmAgent, 'meshed', 'warm-review', 500, 10, false, progress);
      warmAgent.destroy();

      const results: BenchResult[] = [];
      for (const inFlight of [10, 50, 100]) {
        // Connections are opened (and their TLS handshakes paid) by dry runs first, as the API server keeps them open.
        const agent = new Agent({ keepAlive: true, maxSockets: inFlight });
        await postReviews(webhook, agent, 'meshed', `c${inFlight}-open`, inFlight * 2, inFlight, true, progress);
        const cpuBefore = processCpu();
        const direct = await postReviews(webhook, agent, 'meshed', `c${inFlight}-review`, reviews, inFlight, false, progress);
        const cpuAfter = processCpu();
        agent.destroy();
        const stored = await secretNames();
        const written = direct.secrets.filter((name) => stored.has(name)).length;
        const perReview = (ms: number): number => ms / Math.max(1, direct.secrets.length + direct.failed);

        const { latencies: meshed, failed } = await createPods(rest, 'meshed', `c${inFlight}`, count, inFlight, progress);
        const { latencies: plain } = await createPods(rest, 'unmeshed', `c${inFlight}`, count, inFlight, progress);
        progress(
          `${inFlight} in flight: ${reviews} reviews straight to the webhook p50 ${percentile(direct.latencies, 50).toFixed(1)} ms p99 ${percentile(direct.latencies, 99).toFixed(1)} ms ` +
            `max ${(direct.latencies.at(-1) ?? Number.NaN).toFixed(1)} ms, ${written}/${direct.secrets.length} Secrets found, ${direct.failed} failed; ` +
            `${count} pods through the API server p50 ${percentile(meshed, 50).toFixed(1)} ms p99 ${percentile(meshed, 99).toFixed(1)} ms; ` +
            `without the webhook p50 ${percentile(plain, 50).toFixed(1)} ms p99 ${percentile(plain, 99).toFixed(1)} ms`,
        );
        results.push(
          { name: `c${inFlight}_webhook_p50_ms`, value: percentile(direct.latencies, 50), unit: 'ms' },
          { name: `c${inFlight}_webhook_p99_ms`, value: percentile(direct.latencies, 99), unit: 'ms' },
          { name: `c${inFlight}_webhook_max_ms`, value: direct.latencies.at(-1) ?? Number.NaN, unit: 'ms' },
          { name: `c${inFlight}_webhook_failed`, value: direct.failed, unit: 'reviews' },
          { name: `c${inFlight}_webhook_secrets`, value: written, unit: 'Secrets' },
          { name: `c${inFlight}_webhook_injector_cpu_ms`, value: perReview(cpuAfter.injector - cpuBefore.injector), unit: 'ms/review' },
          { name: `c${inFlight}_webhook_apiserver_cpu_ms`, value: perReview(cpuAfter.apiServer - cpuBefore.apiServer), unit: 'ms/review' },
          { name: `c${inFlight}_p50_ms`, value: percentile(meshed, 50), unit: 'ms' },
          { name: `c${inFlight}_p99_ms`, value: percentile(meshed, 99), unit: 'ms' },
          { name: `c${inFlight}_failed`, value: failed, unit: 'pods' },
          { name: `c${inFlight}_no_webhook_p50_ms`, value: percentile(plain, 50), unit: 'ms' },
          { name: `c${inFlight}_no_webhook_p99_ms`, value: percentile(plain, 99), unit: 'ms' },
        );
      }
      progress(`bootstrap Secrets in namespace meshed: ${(await secretNames()).size}`);
      return results;
    } finally {
      const exited = new Promise((resolve) => injector.once('exit', resolve));
      if (injector.exitCode === null) injector.kill('SIGTERM');
      await exited;
      await api.stop();
    }
  },
};
