// Figures shared by the benchmarks: percentiles of sorted samples, and CPU time and RSS of other
// processes read from /proc (the controller, the simulator, go-control-plane's server).
import { readFileSync } from 'node:fs';

const TICK_MS = 10; // /proc/<pid>/stat counts in clock ticks of 1/100 s (getconf CLK_TCK).

/** The p-th percentile (nearest rank) of ascending samples; NaN for none. */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

/** CPU time (user + system) of the processes, in ms. */
export function cpuMs(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return sum + (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  }, 0);
}

/** Resident set size of the processes, in KiB. */
export function rssKiB(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0), 0);
}
