// B5: pod creations through the real API server with the injector as its webhook (HTTPS, the bootstrap
// certificate issued and its Secret written), p50/p99 at 10, 50 and 100 in flight. The same creations
// in a namespace the webhook does not select give the API server's own cost beside it.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort, KubeRest, startKubeApiServer } from '@osm/testing';
import { percentile } from './stats.ts';
import type { Benchmark, BenchResult } from './types.ts';

const injectorMain = fileURLToPath(new URL('../../apps/injector/src/main.ts', import.meta.url));

const pod = (name: string): Record<string, unknown> => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels: { app: 'bench' } },
  spec: { serviceAccountName: 'bench', containers: [{ name: 'app', image: 'bench:v1', ports: [{ name: 'http', containerPort: 8080 }], readinessProbe: { httpGet: { path: '/ready', port: 'http' } } }] },
});

/** Creates `count` pods with `inFlight` workers: the latency of each successful create in ms (sorted) and the failures. */
async function createPods(rest: KubeRest, namespace: string, prefix: string, count: number, inFlight: number, progress: (line: string) => void): Promise<{ latencies: number[]; failed: number }> {
  const latencies: number[] = [];
  let failed = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const started = performance.now();
      // A failed creation (an error answer, or the connection dropped) is counted, not fatal.
      const r = await rest.call('POST', `/api/v1/namespaces/${namespace}/pods`, pod(`${prefix}-${i}`)).catch((err: unknown) => ({ status: 0, body: { message: (err as Error).message } }));
      if (r.status === 201) {
        latencies.push(performance.now() - started);
      } else {
        failed++;
        progress(`creating pod ${namespace}/${prefix}-${i} failed: HTTP ${r.status} ${JSON.stringify((r.body as { message?: string } | undefined)?.message)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { latencies: latencies.sort((a, b) => a - b), failed };
}

export const B5: Benchmark = {
  id: 'B5',
  description: 'webhook: pod creations through the API server with the injector (Secret written), p50/p99 at 10, 50, 100 in flight (options: --pods 500)',
  async run(options, progress): Promise<BenchResult[]> {
    const count = Number(options['pods'] ?? 500);
    const api = await startKubeApiServer({ progress });
    const rest = new KubeRest(api.kubeConfig);
    const port = await freePort();
    const injector = spawn(
      process.execPath,
      [injectorMain, '--webhook-address', '127.0.0.1', '--webhook-port', String(port), '--webhook-url', `https://127.0.0.1:${port}/mutate-pod-creation`, '--admin-address', '127.0.0.1', '--admin-port', '0', '--log-level', 'warn', '--drain-delay', '0s', '--sweep-interval', '10m'],
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
      progress('injector ready; warming up (100 pods)');
      await createPods(rest, 'meshed', 'warm', 100, 10, progress);
      await createPods(rest, 'unmeshed', 'warm', 100, 10, progress);

      const results: BenchResult[] = [];
      for (const inFlight of [10, 50, 100]) {
        const { latencies: meshed, failed } = await createPods(rest, 'meshed', `c${inFlight}`, count, inFlight, progress);
        const { latencies: plain } = await createPods(rest, 'unmeshed', `c${inFlight}`, count, inFlight, progress);
        progress(
          `${inFlight} in flight, ${count} pods: meshed p50 ${percentile(meshed, 50).toFixed(1)} ms p99 ${percentile(meshed, 99).toFixed(1)} ms; ` +
            `without the webhook p50 ${percentile(plain, 50).toFixed(1)} ms p99 ${percentile(plain, 99).toFixed(1)} ms`,
        );
        results.push(
          { name: `c${inFlight}_p50_ms`, value: percentile(meshed, 50), unit: 'ms' },
          { name: `c${inFlight}_p99_ms`, value: percentile(meshed, 99), unit: 'ms' },
          { name: `c${inFlight}_failed`, value: failed, unit: 'pods' },
          { name: `c${inFlight}_no_webhook_p50_ms`, value: percentile(plain, 50), unit: 'ms' },
          { name: `c${inFlight}_no_webhook_p99_ms`, value: percentile(plain, 99), unit: 'ms' },
        );
      }
      const secrets = await rest.ok('GET', '/api/v1/namespaces/meshed/secrets?labelSelector=osm-proxy-uuid');
      progress(`bootstrap Secrets written: ${(secrets['items'] as unknown[]).length}`);
      return results;
    } finally {
      const exited = new Promise((resolve) => injector.once('exit', resolve));
      if (injector.exitCode === null) injector.kill('SIGTERM');
      await exited;
      await api.stop();
    }
  },
};
