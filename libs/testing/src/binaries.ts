// Finds or builds the kube-apiserver and etcd that integration tests run.
// Versions are pinned by tools/envtest/go.mod; binaries are built once with the machine's Go and
// cached outside the repo by version. KUBEBUILDER_ASSETS (envtest's convention) overrides the build.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ControlPlaneBinaries {
  readonly kubeApiServer: string;
  readonly etcd: string;
}

const envtestModule = fileURLToPath(new URL('../../../tools/envtest/', import.meta.url));

/** The pinned versions, read from the tools/envtest module that builds them. */
export function pinnedVersions(): { kubernetes: string; etcd: string } {
  const goMod = readFileSync(join(envtestModule, 'go.mod'), 'utf8');
  const version = (module: string): string => {
    const match = new RegExp(`^\\s*${module.replaceAll('.', '\\.')} (v\\S+)`, 'm').exec(goMod);
    if (!match?.[1]) throw new Error(`tools/envtest/go.mod does not require ${module}`);
    return match[1];
  };
  return { kubernetes: version('k8s.io/kubernetes'), etcd: version('go.etcd.io/etcd/server/v3') };
}

function cacheDir(): string {
  const { kubernetes, etcd } = pinnedVersions();
  const base = process.env['XDG_CACHE_HOME'] || join(homedir(), '.cache');
  return join(base, 'osm-ts', 'envtest', `kube-apiserver-${kubernetes}_etcd-${etcd}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Takes an exclusive lock file; waits while a live process holds it, steals it from a dead one. */
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
      if (waited % 30 === 0) progress(`waiting for process ${holder} to finish building the control-plane binaries`);
      await sleep(1000);
    }
  }
  try {
    return await body();
  } finally {
    rmSync(path, { force: true });
  }
}

async function build(dir: string, progress: (line: string) => void): Promise<void> {
  const { kubernetes, etcd } = pinnedVersions();
  const staging = mkdtempSync(`${dir}.build-`);
  progress(`building kube-apiserver ${kubernetes} and etcd ${etcd} with go (first run only; takes minutes)`);
  const started = Date.now();
  let packages = 0;
  await new Promise<void>((resolve, reject) => {
    const child = spawn('go', ['build', '-v', '-o', staging + '/', 'k8s.io/kubernetes/cmd/kube-apiserver', 'go.etcd.io/etcd/server/v3'], {
      cwd: envtestModule,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
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
    const ticker = setInterval(() => progress(`  ... ${Math.round((Date.now() - started) / 1000)} s, ${packages} packages compiled`), 15_000);
    child.on('error', (err) => {
      clearInterval(ticker);
      reject(new Error(`cannot run go to build the control plane (is Go installed?): ${err.message}`));
    });
    child.on('exit', (code) => {
      clearInterval(ticker);
      if (code === 0) resolve();
      else reject(new Error(`go build of kube-apiserver/etcd failed (exit ${code}):\n${lastLines.join('\n')}`));
    });
  });
  // The etcd main package is the module root go.etcd.io/etcd/server/v3, so go names its binary "server".
  renameSync(join(staging, 'server'), join(staging, 'etcd'));
  rmSync(dir, { recursive: true, force: true });
  renameSync(staging, dir);
  progress(`built control-plane binaries in ${Math.round((Date.now() - started) / 1000)} s: ${dir}`);
}

/** Returns the binaries, building them into the cache first if needed. */
export async function controlPlaneBinaries(progress: (line: string) => void): Promise<ControlPlaneBinaries> {
  const assets = process.env['KUBEBUILDER_ASSETS'];
  const dir = assets || cacheDir();
  const binaries = { kubeApiServer: join(dir, 'kube-apiserver'), etcd: join(dir, 'etcd') };
  const present = (): boolean => existsSync(binaries.kubeApiServer) && existsSync(binaries.etcd);
  if (present()) return binaries;
  if (assets) throw new Error(`KUBEBUILDER_ASSETS=${assets} has no kube-apiserver and etcd`);
  mkdirSync(join(dir, '..'), { recursive: true });
  await withLock(`${dir}.lock`, progress, async () => {
    if (!present()) await build(dir, progress);
  });
  return binaries;
}
