// B2 memory: the controller's RSS and V8 heap per connected proxy at steady state, (with N - with 0) / N.
// One osm-controller process with the benchmark mesh (S = N/10) loaded and ready, read before the
// fleet connects and again once every proxy holds config and the process had time to settle.
// Options: --proxies 1000  --simulators <processes>  --simulator go|node (fleet engine, default go)  --settle-ms 5000
//          --heap-snapshot <dir> (a V8 heap snapshot of the controller at steady state, with N proxies, written there)
import { mkdirSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as settle } from 'node:timers/promises';
import type { ControllerProcess } from '@osm/testing';
import { heapUsedBytes, MeshRun, simulatorEngine, simulatorProcesses } from './mesh-run.ts';
import type { Benchmark, BenchResult } from './types.ts';

/**
 * Has the controller (started with --heapsnapshot-signal=SIGUSR2) write a heap snapshot into `dir`,
 * and returns its path. V8 writes it on the main thread: once the admin server answers again it is complete.
 */
async function heapSnapshot(controller: ControllerProcess, dir: string): Promise<string> {
  const before = new Set(readdirSync(dir));
  controller.child.kill('SIGUSR2');
  for (let waitedMs = 0; waitedMs < 120_000; waitedMs += 200) {
    const written = readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    if (written) {
      await controller.get('/livez');
      return resolve(dir, written);
    }
    await settle(200);
  }
  throw new Error(`no heap snapshot appeared in ${dir} within 120 s of SIGUSR2`);
}

export const B2: Benchmark = {
  id: 'B2',
  description: 'memory: controller RSS and V8 heap per connected proxy at steady state; S = N/10 (options: --proxies 1000 --heap-snapshot <dir>)',
  async run(options, progress, record) {
    const n = Number(options['proxies'] ?? 1000);
    const settleMs = Number(options['settle-ms'] ?? 5000);
    const snapshotDir = options['heap-snapshot'] === undefined ? undefined : resolve(options['heap-snapshot']);
    if (snapshotDir) mkdirSync(snapshotDir, { recursive: true });
    record({ 'settle-ms': settleMs });
    const run = await MeshRun.start(
      {
        proxies: n,
        replicas: 1,
        simulators: simulatorProcesses(options),
        engine: simulatorEngine(options),
        // --diagnostic-dir: where V8 writes the snapshot (else the controller's working directory).
        controllerNodeOptions: snapshotDir ? `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${snapshotDir}` : undefined,
        record,
      },
      progress,
    );
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
      // After the readings: writing a snapshot grows the process.
      if (snapshotDir) progress(`heap snapshot of the controller with ${n} proxies: ${await heapSnapshot(controller, snapshotDir)} (open it in Chrome DevTools, Memory tab)`);
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
