// B2 memory: the controller's RSS and V8 heap per connected proxy at steady state, (with N - with 0) / N.
// One osm-controller process with the benchmark mesh (S = N/10) loaded and ready, read before the
// fleet connects and again once every proxy holds config and the process had time to settle.
// Options: --proxies 1000  --simulators <processes>  --simulator go|node (fleet engine, default go)  --settle-ms 5000
import { setTimeout as settle } from 'node:timers/promises';
import { heapUsedBytes, MeshRun, simulatorEngine, simulatorProcesses } from './mesh-run.ts';
import type { Benchmark, BenchResult } from './types.ts';

export const B2: Benchmark = {
  id: 'B2',
  description: 'memory: controller RSS and V8 heap per connected proxy at steady state; S = N/10 (options: --proxies 1000)',
  async run(options, progress) {
    const n = Number(options['proxies'] ?? 1000);
    const settleMs = Number(options['settle-ms'] ?? 5000);
    const run = await MeshRun.start({ proxies: n, replicas: 1, simulators: simulatorProcesses(options), engine: simulatorEngine(options) }, progress);
    try {
      const controller = run.controllers[0];
      if (!controller) throw new Error('no controller');
      await settle(settleMs);
      const rss0 = run.rssKiB();
      const heap0 = await heapUsedBytes(controller);
      progress(`controller ready with the mesh and no proxies: RSS ${(rss0 / 1024).toFixed(1)} MiB, heap ${(heap0 / 2 ** 20).toFixed(1)} MiB`);
      const initialS = await run.connectFleet();
      progress(`every proxy holds config after ${initialS.toFixed(2)} s`);
      await settle(settleMs);
      const rssN = run.rssKiB();
      const heapN = await heapUsedBytes(controller);
      progress(`with ${n} proxies: RSS ${(rssN / 1024).toFixed(1)} MiB, heap ${(heapN / 2 ** 20).toFixed(1)} MiB`);
      return [
        { name: 'proxies', value: n, unit: 'proxies' },
        { name: 'rss_0_mib', value: rss0 / 1024, unit: 'MiB' },
        { name: 'rss_n_mib', value: rssN / 1024, unit: 'MiB' },
        { name: 'rss_kib_per_proxy', value: (rssN - rss0) / n, unit: 'KiB' },
        { name: 'heap_0_mib', value: heap0 / 2 ** 20, unit: 'MiB' },
        { name: 'heap_n_mib', value: heapN / 2 ** 20, unit: 'MiB' },
        { name: 'heap_kib_per_proxy', value: (heapN - heap0) / 1024 / n, unit: 'KiB' },
      ] satisfies BenchResult[];
    } finally {
      await run.stop();
    }
  },
};
