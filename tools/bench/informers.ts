// informers: initial sync time and memory of the mesh informers with 5,000 pods and 500 services in a
// real kube-apiserver (plus one ServiceAccount and one EndpointSlice per service), and the time the
// catalog takes to translate the synced objects into a mesh model. The test API server's service IP
// range is a /24, so services after the first 200 are headless (clusterIP None). Then N namespaces
// (--join, default 50) of a few pods each join the mesh in a burst (their label written 32 at a time)
// and leave it again: the time until the informers hold (and then dropped) exactly their objects,
// how many cluster-wide lists and watch starts the joins caused, and how long a change to a pod
// already in the mesh takes to reach the informer while the namespaces join (a pod relabelled
// again and again, from each write's return until the informer holds it).
import { request } from 'node:https';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { KubeConfig } from '@kubernetes/client-node';
import { kubeListWatchClient, MeshInformers } from '@osm/k8s-informers';
import { diffModels, informerSource, translate, Translator, type K8sEndpointSlice, type KubeObjects } from '@osm/mesh-catalog';
import { KubeRest, startKubeApiServer } from '@osm/testing';
import type { Benchmark, BenchResult } from './types.ts';

const median = (values: readonly number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? (s[(s.length - 1) / 2] ?? 0) : ((s[s.length / 2 - 1] ?? 0) + (s[s.length / 2] ?? 0)) / 2;
};

// A full collection when measuring heap: main.ts runs without --expose-gc, so turn it on here.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
function heapUsed(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

async function post(kc: KubeConfig, path: string, body: unknown): Promise<void> {
  const opts: { headers?: Record<string, string> } = {};
  await kc.applyToHTTPSOptions(opts as never);
  const payload = JSON.stringify(body);
  const server = kc.getCurrentCluster()?.server ?? '';
  await new Promise<void>((resolve, reject) => {
    const req = request(new URL(server + path), { ...opts, method: 'POST', headers: { ...(opts.headers ?? {}), 'Content-Type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => (res.statusCode === 201 || res.statusCode === 409 ? resolve() : reject(new Error(`POST ${path}: HTTP ${res.statusCode} ${text.slice(0, 300)}`))));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** Runs `jobs` with at most `limit` in flight, reporting progress every `every` completions. */
async function bounded(jobs: readonly (() => Promise<void>)[], limit: number, every: number, progress: (done: number) => void): Promise<void> {
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const job = jobs[next++];
      if (!job) break;
      for (let attempt = 0; ; attempt++) {
        try {
          await job();
          break;
        } catch (err) {
          if (attempt >= 5) throw err;
          await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
        }
      }
      if (++done % every === 0 || done === jobs.length) progress(done);
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

/**
 * What the catalog spends on a batch after one endpoint changed: translate with the Translator's
 * memory of the previous model, then diff (median of 20 changes).
 */
function incrementalBatchMs(objects: KubeObjects): number {
  const translator = new Translator();
  let previous = translator.translate(objects).model;
  let slices = [...objects.endpointSlices];
  const times: number[] = [];
  for (let i = 0; i < 20; i++) {
    const at = (i * 37) % slices.length;
    const old = slices[at] as K8sEndpointSlice;
    const changed: K8sEndpointSlice = { ...old, metadata: { ...old.metadata, resourceVersion: `bench-${i}` }, endpoints: [...(old.endpoints ?? []), { addresses: [`10.255.0.${i + 1}`], conditions: { ready: true } }] };
    slices = slices.map((s, j) => (j === at ? changed : s));
    const t = performance.now();
    const next = translator.translate({ ...objects, endpointSlices: slices }).model;
    diffModels(previous, next);
    times.push(performance.now() - t);
    previous = next;
  }
  return median(times);
}

/** Resolves once `done()` holds, checking every 5 ms (at most `timeoutMs`). */
async function until(what: string, done: () => boolean, timeoutMs = 300_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const informers: Benchmark = {
  id: 'informers',
  description: 'mesh informers: initial sync time and memory with 5,000 pods and 500 services in a real API server, then N namespaces joining and leaving in a burst (--pods, --services, --join, --join-pods, --runs, --concurrency)',
  async run(options, progress): Promise<BenchResult[]> {
    const pods = Number(options['pods'] ?? 5000);
    const services = Number(options['services'] ?? 500);
    const runs = Number(options['runs'] ?? 5);
    const concurrency = Number(options['concurrency'] ?? 32);
    const joining = Number(options['join'] ?? 50);
    const joinPods = Number(options['join-pods'] ?? 10);
    const namespaces = Math.max(1, Math.ceil(services / 50));
    const podsPerService = Math.ceil(pods / services);

    progress('starting kube-apiserver and etcd');
    const api = await startKubeApiServer({ progress: (line) => progress(`kube-apiserver: ${line}`) });
    try {
      const kc = api.kubeConfig;
      const t0 = performance.now();
      for (let n = 0; n < namespaces; n++) await post(kc, '/api/v1/namespaces', { metadata: { name: `bench-${n}`, labels: { 'openservicemesh.io/monitored-by': 'osm' } } });
      await post(kc, '/api/v1/namespaces', { metadata: { name: 'osm-system' } });
      const nsOf = (s: number): string => `bench-${s % namespaces}`;
      const perService: (() => Promise<void>)[] = [];
      for (let s = 0; s < services; s++) {
        const ns = nsOf(s);
        const name = `svc-${s}`;
        perService.push(() => post(kc, `/api/v1/namespaces/${ns}/serviceaccounts`, { metadata: { name } }));
        perService.push(() =>
          post(kc, `/api/v1/namespaces/${ns}/services`, { metadata: { name, labels: { app: name } }, spec: { selector: { app: name }, ...(s < 200 ? {} : { clusterIP: 'None' }), ports: [{ name: 'http-web', port: 80, targetPort: 8080 }] } }),
        );
        perService.push(() =>
          post(kc, `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, {
            metadata: { name: `${name}-a`, labels: { 'kubernetes.io/service-name': name } },
            addressType: 'IPv4',
            endpoints: Array.from({ length: podsPerService }, (_, i) => ({ addresses: [`10.${s >> 8}.${s & 255}.${i + 1}`], conditions: { ready: true }, targetRef: { kind: 'Pod', name: `${name}-${i}`, namespace: ns } })),
            ports: [{ name: 'http-web', port: 8080, protocol: 'TCP' }],
          }),
        );
      }
      progress(`creating ${services} services with a service account and an EndpointSlice each (${concurrency} in flight)`);
      await bounded(perService, concurrency, 300, (done) => progress(`  ${done}/${perService.length} service objects`));
      const podJobs: (() => Promise<void>)[] = [];
      for (let p = 0; p < pods; p++) {
        const s = p % services;
        const ns = nsOf(s);
        const name = `svc-${s}-${Math.floor(p / services)}`;
        podJobs.push(() =>
          post(kc, `/api/v1/namespaces/${ns}/pods`, {
            metadata: { name, labels: { app: `svc-${s}`, version: 'v1', 'osm-proxy-uuid': `00000000-0000-4000-8000-${String(p).padStart(12, '0')}` }, annotations: { 'openservicemesh.io/sidecar-injection': 'enabled' } },
            spec: {
              serviceAccountName: `svc-${s}`,
              containers: [
                { name: 'app', image: 'example.invalid/app:1.0', ports: [{ name: 'http', containerPort: 8080 }], env: [{ name: 'MODE', value: 'bench' }], resources: { requests: { cpu: '10m', memory: '16Mi' } } },
                { name: 'envoy', image: 'envoyproxy/envoy:v1.31.0', args: ['--config-path', '/etc/envoy/bootstrap.yaml'], ports: [{ name: 'proxy-admin', containerPort: 15000 }] },
              ],
            },
          }),
        );
      }
      // Namespaces outside the mesh, each with a ServiceAccount and a few pods, that join it later.
      const joinNames = Array.from({ length: joining }, (_, j) => `join-${j}`);
      for (const ns of joinNames) await post(kc, '/api/v1/namespaces', { metadata: { name: ns } });
      for (const ns of joinNames) {
        podJobs.push(() => post(kc, `/api/v1/namespaces/${ns}/serviceaccounts`, { metadata: { name: 'app' } }));
        for (let i = 0; i < joinPods; i++) {
          podJobs.push(() => post(kc, `/api/v1/namespaces/${ns}/pods`, { metadata: { name: `app-${i}`, labels: { app: 'app' } }, spec: { serviceAccountName: 'app', containers: [{ name: 'app', image: 'example.invalid/app:1.0' }] } }));
        }
      }
      progress(`creating ${pods} pods, and ${joining} namespaces outside the mesh with ${joinPods} pods each (${concurrency} in flight)`);
      await bounded(podJobs, concurrency, 500, (done) => progress(`  ${done}/${podJobs.length} objects`));
      const rest = new KubeRest(kc);
      const label = (value: string | null) => joinNames.map((ns) => () => rest.patch(`/api/v1/namespaces/${ns}`, { metadata: { labels: { 'openservicemesh.io/monitored-by': value } } }).then(() => undefined));
      const createSeconds = (performance.now() - t0) / 1000;
      progress(`created everything in ${createSeconds.toFixed(1)} s`);

      const syncMs: number[] = [];
      const heapMb: number[] = [];
      const translateMs: number[] = [];
      const batchMs: number[] = [];
      const joinMs: number[] = [];
      const leaveMs: number[] = [];
      const joinLists: number[] = [];
      const joinWatches: number[] = [];
      const changeMs: number[] = [];
      let synced = { pods: 0, services: 0, proxies: 0 };
      for (let run = 0; run < runs; run++) {
        const before = heapUsed();
        const mesh = new MeshInformers({ client: kubeListWatchClient(kc), meshName: 'osm', controlPlaneNamespace: 'osm-system' });
        const start = performance.now();
        mesh.start();
        await mesh.waitForSync();
        const ms = performance.now() - start;
        const after = heapUsed();
        const source = informerSource(mesh);
        const t = performance.now();
        const model = translate(source.objects()).model;
        const tms = performance.now() - t;
        synced = { pods: mesh.pods.size, services: mesh.services.size, proxies: model.proxies.size };
        batchMs.push(incrementalBatchMs(source.objects()));
        if (joining > 0) {
          const namespaced = mesh.all().filter((inf) => inf !== mesh.namespaces && inf !== mesh.meshConfigs);
          const count = (key: 'lists' | 'watches'): number => namespaced.reduce((sum, inf) => sum + inf.stats()[key], 0);
          const [lists0, watches0] = [count('lists'), count('watches')];
          const holds = (n: number): boolean => mesh.pods.size === pods + n * joinPods && mesh.serviceAccounts.size === services + n;
          let probing = true;
          const probe = async (): Promise<void> => {
            for (let i = 0; probing; i++) {
              const written = await rest.patch(`/api/v1/namespaces/${nsOf(0)}/pods/svc-0-0`, { metadata: { labels: { probe: `${run}-${i}` } } });
              const rv = (written['metadata'] as { resourceVersion?: string }).resourceVersion;
              const t = performance.now();
              await until('the relabelled pod', () => mesh.pods.get(`${nsOf(0)}/svc-0-0`)?.metadata.resourceVersion === rv);
              changeMs.push(performance.now() - t);
            }
          };
          const changesBefore = changeMs.length;
          const probed = probe();
          await bounded(label('osm'), concurrency, joining, () => undefined);
          const joinStart = performance.now();
          await until('the joined namespaces', () => holds(joining));
          joinMs.push(performance.now() - joinStart);
          probing = false;
          await probed;
          const changes = changeMs.slice(changesBefore);
          joinLists.push(count('lists') - lists0);
          joinWatches.push(count('watches') - watches0);
          await bounded(label(null), concurrency, joining, () => undefined);
          const leaveStart = performance.now();
          await until('the namespaces to leave', () => holds(0));
          leaveMs.push(performance.now() - leaveStart);
          progress(`  ${joining} namespaces joined ${(joinMs.at(-1) ?? 0).toFixed(0)} ms after the last label write (${joinLists.at(-1)} cluster-wide lists, ${joinWatches.at(-1)} watch starts; meanwhile ${changes.length} changes to a pod in the mesh arrived after ${median(changes).toFixed(0)} ms median, ${Math.max(...changes).toFixed(0)} ms at most), left in ${(leaveMs.at(-1) ?? 0).toFixed(0)} ms`);
        }
        mesh.stop();
        syncMs.push(ms);
        heapMb.push((after - before) / 2 ** 20);
        translateMs.push(tms);
        progress(`run ${run + 1}/${runs}: sync ${ms.toFixed(0)} ms, informer heap ${((after - before) / 2 ** 20).toFixed(1)} MB, translate ${tms.toFixed(1)} ms, batch after one endpoint change ${(batchMs.at(-1) ?? 0).toFixed(1)} ms (${synced.pods} pods, ${synced.services} services, ${synced.proxies} proxies)`);
      }
      if (synced.pods !== pods || synced.services !== services) throw new Error(`informers hold ${synced.pods} pods and ${synced.services} services; expected ${pods} and ${services}`);
      return [
        { name: 'initial_sync_ms', value: median(syncMs), unit: 'ms' },
        { name: 'informer_heap_mb', value: median(heapMb), unit: 'MB' },
        { name: 'heap_per_pod_kb', value: (median(heapMb) * 1024) / pods, unit: 'KB' },
        { name: 'translate_ms', value: median(translateMs), unit: 'ms' },
        { name: 'batch_one_endpoint_ms', value: median(batchMs), unit: 'ms' },
        ...(joining > 0
          ? [
              { name: `join_burst_${joining}_ms`, value: median(joinMs), unit: 'ms' },
              { name: `join_burst_${joining}_cluster_lists`, value: median(joinLists), unit: 'lists' },
              { name: `join_burst_${joining}_watch_starts`, value: median(joinWatches), unit: 'watches' },
              { name: `leave_burst_${joining}_ms`, value: median(leaveMs), unit: 'ms' },
              { name: 'change_during_join_p50_ms', value: median(changeMs), unit: 'ms' },
              { name: 'change_during_join_max_ms', value: Math.max(...changeMs), unit: 'ms' },
            ]
          : []),
        { name: 'create_objects_s', value: createSeconds, unit: 's' },
      ];
    } finally {
      await api.stop();
    }
  },
};
