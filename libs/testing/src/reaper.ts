// Nothing that a killed test process started outlives it for long. A test process that is SIGKILLed
// (a runner timeout, an OOM kill, kill -9) runs no exit hook, so its etcd and kube-apiserver would keep
// running and its data folder would stay. Each harness folder therefore records who owns it and what it
// started (owner.json: pids with their kernel start times), and every start of the harness first sweeps
// the folders whose owner is gone: it SIGKILLs their processes that are still the same processes (same
// pid and start time, so a reused pid is never hit) and removes the folder. Folders without an owner
// record (one being set up right now, or made by an older harness) are left alone. Linux (/proc) only:
// where there is no /proc, nothing is recorded as alive and nothing is swept.
import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Every harness folder is `<tmpdir>/osm-ts-apiserver-XXXXXX`. */
export const HARNESS_DIR_PREFIX = 'osm-ts-apiserver-';
const OWNER_FILE = 'owner.json';

interface ProcessRef {
  readonly pid: number;
  /** /proc/<pid>/stat field 22: clock ticks after boot at which the process started. */
  readonly startTime: string;
}

interface OwnerRecord {
  readonly owner: ProcessRef;
  readonly processes: readonly (ProcessRef & { readonly name: string })[];
}

/** The kernel's start time of a live process; undefined when it is gone, a zombie, or there is no /proc. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // `pid (comm) state ppid ...`: comm may hold spaces and parentheses, so count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
    return fields[19];
  } catch {
    return undefined;
  }
}

const isAlive = (p: ProcessRef): boolean => p.startTime !== '' && processStartTime(p.pid) === p.startTime;

/** Records (atomically) that this process owns `dir` and started `processes`. */
export function writeOwnerRecord(dir: string, processes: readonly { readonly name: string; readonly pid: number | undefined }[]): void {
  const record: OwnerRecord = {
    owner: { pid: process.pid, startTime: processStartTime(process.pid) ?? '' },
    processes: processes.flatMap(({ name, pid }) => (pid === undefined ? [] : [{ name, pid, startTime: processStartTime(pid) ?? '' }])),
  };
  const tmp = join(dir, `${OWNER_FILE}.tmp`);
  writeFileSync(tmp, JSON.stringify(record));
  renameSync(tmp, join(dir, OWNER_FILE));
}

function readOwnerRecord(dir: string): OwnerRecord | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8')) as OwnerRecord;
  } catch {
    return undefined;
  }
}

export interface Reaped {
  readonly dir: string;
  readonly ownerPid: number;
  /** `name pid` of each process that was still running and was killed. */
  readonly killed: readonly string[];
}

/**
 * Kills what dead owners left running and removes their folders under `root` (default the OS temp dir)
 * whose names start with `prefix` (default the API server harness's).
 */
export async function reapOrphans(root = tmpdir(), prefix = HARNESS_DIR_PREFIX): Promise<Reaped[]> {
  let entries: string[];
  try {
    entries = readdirSync(root).filter((name) => name.startsWith(prefix));
  } catch {
    return [];
  }
  const reaped: Reaped[] = [];
  for (const name of entries) {
    const dir = join(root, name);
    const record = readOwnerRecord(dir);
    if (!record || record.owner.startTime === '' || isAlive(record.owner)) continue;
    const running = record.processes.filter(isAlive);
    for (const p of running) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // Gone in the meantime.
      }
    }
    for (let i = 0; i < 200 && running.some(isAlive); i++) await sleep(25);
    rmSync(dir, { recursive: true, force: true });
    reaped.push({ dir, ownerPid: record.owner.pid, killed: running.map((p) => `${p.name} ${p.pid}`) });
  }
  return reaped;
}
