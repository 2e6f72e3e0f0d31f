// Go programs we run but do not write (kube-apiserver and etcd for tests, helm, prometheus, ...) or
// write in Go on purpose (the independent Envoy config checker): each is pinned by a go.mod under
// tools/<name>/, built once from the Go module proxy with the machine's Go, and cached outside the
// repository under a key made of the module's go.mod and go.sum, so a changed pin rebuilds and
// nothing else does. Several processes asking at once build once (a lock file; a dead holder's lock
// is taken over).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface GoToolSpec {
  /** Absolute path of the Go module that pins the tool (a folder under tools/). */
  readonly moduleDir: string;
  /** Binary name -> Go package to build into it. */
  readonly binaries: Readonly<Record<string, string>>;
  /** Extra `go build` arguments (for instance `-tags`). */
  readonly buildFlags?: readonly string[];
  /** What to call it in progress lines (default: the module folder's name). */
  readonly label?: string;
}

/** The module's own Go source files (a tool we write in Go), relative paths sorted. */
function goSources(moduleDir: string): string[] {
  return readdirSync(moduleDir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.go'))
    .sort();
}

/**
 * Where the binaries of a spec are cached: `<cache>/osm-ts/<module folder>/<hash>`, the hash of
 * go.mod, go.sum, the spec and the module's own .go files (so an edited tool is rebuilt).
 */
export function goToolCacheDir(spec: GoToolSpec): string {
  const h = createHash('sha256');
  for (const file of ['go.mod', 'go.sum']) {
    const path = join(spec.moduleDir, file);
    h.update(existsSync(path) ? readFileSync(path) : Buffer.alloc(0));
  }
  h.update(JSON.stringify([Object.entries(spec.binaries).sort(), spec.buildFlags ?? []]));
  for (const file of goSources(spec.moduleDir)) h.update(`\0${file}\0`).update(readFileSync(join(spec.moduleDir, file)));
  const base = process.env['XDG_CACHE_HOME'] || join(homedir(), '.cache');
  return join(base, 'osm-ts', basename(spec.moduleDir), h.digest('hex').slice(0, 16));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Takes an exclusive lock file; waits while a live process holds it, takes it over from a dead one. */
async function withLock<T>(path: string, progress: (line: string) => void, body: () => Promise<T>): Promise<T> {
  for (let waited = 0; ; waited++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(readFileSync(path, 'utf8'));
      if (holder && !isAlive(holder)) {
        rmSync(path, { force: true });
        continue;
      }
      if (waited % 30 === 0) progress(`waiting for process ${holder} to finish building ${basename(path, '.lock')}`);
      await sleep(1000);
    }
  }
  try {
    return await body();
  } finally {
    rmSync(path, { force: true });
  }
}

function goBuild(spec: GoToolSpec, out: string, pkg: string, progress: (line: string) => void, started: number): Promise<void> {
  let packages = 0;
  return new Promise<void>((resolve, reject) => {
    const child = spawn('go', ['build', '-v', ...(spec.buildFlags ?? []), '-o', out, pkg], { cwd: spec.moduleDir, stdio: ['ignore', 'ignore', 'pipe'] });
    const lastLines: string[] = [];
    let buffered = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.startsWith('go: downloading')) packages++;
        lastLines.push(line);
        if (lastLines.length > 30) lastLines.shift();
      }
    });
    const ticker = setInterval(() => progress(`  ... ${Math.round((Date.now() - started) / 1000)} s, ${packages} packages compiled (${basename(out)})`), 15_000);
    child.on('error', (err) => {
      clearInterval(ticker);
      reject(new Error(`cannot run go to build ${pkg} (is Go installed?): ${err.message}`));
    });
    child.on('exit', (code) => {
      clearInterval(ticker);
      if (code === 0) resolve();
      else reject(new Error(`go build ${pkg} failed (exit ${code}):\n${lastLines.join('\n')}`));
    });
  });
}

/**
 * The paths of a spec's binaries (name -> path), building them into the cache first if needed, with a
 * progress line every 15 s (a first build of a large tool takes minutes).
 */
export async function goToolBinaries(spec: GoToolSpec, progress: (line: string) => void): Promise<Record<string, string>> {
  const dir = goToolCacheDir(spec);
  const names = Object.keys(spec.binaries);
  const paths = Object.fromEntries(names.map((n) => [n, join(dir, n)]));
  const present = (): boolean => names.every((n) => existsSync(join(dir, n)));
  if (present()) return paths;
  mkdirSync(join(dir, '..'), { recursive: true });
  await withLock(`${dir}.lock`, progress, async () => {
    if (present()) return;
    const label = spec.label ?? basename(spec.moduleDir);
    const staging = mkdtempSync(`${dir}.build-`);
    const started = Date.now();
    progress(`building ${label} (${names.join(', ')}) with go from ${spec.moduleDir} (first run only; may take minutes)`);
    try {
      for (const [name, pkg] of Object.entries(spec.binaries)) await goBuild(spec, join(staging, name), pkg, progress, started);
    } catch (err) {
      rmSync(staging, { recursive: true, force: true });
      throw err;
    }
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
    progress(`built ${label} in ${Math.round((Date.now() - started) / 1000)} s: ${dir}`);
  });
  return paths;
}
