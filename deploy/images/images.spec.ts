// Builds the three images with buildah into a throw-away storage (vfs: no daemon, no overlay needed),
// then runs each image's entrypoint from the image's root file system (chroot as the image's user, with
// the image's environment only) and checks what the image holds.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { apps, buildAppImage, buildahArgs, buildBaseImage, root, type AppName } from './build.ts';

const storage = mkdtempSync(join(tmpdir(), 'osm-buildah-'));
const options = { storageDriver: 'vfs', root: join(storage, 'root'), runroot: join(storage, 'run'), progress: (line: string) => process.stderr.write(`[image] ${line}\n`) };
const buildah = (...args: string[]): string => execFileSync('buildah', [...buildahArgs(options), ...args], { encoding: 'utf8' }).trim();

interface ImageConfig {
  User?: string;
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  WorkingDir?: string;
}

function run(command: string, args: readonly string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, [...args], { env, timeout: 60_000 }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }));
  });
}

/** Every folder under `dir` holding a package.json directly under a node_modules folder, relative to `dir`. */
function installedPackages(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  const modules = join(dir, prefix, 'node_modules');
  if (!existsSync(modules)) return out;
  for (const entry of readdirSync(modules)) {
    const names = entry.startsWith('@') ? readdirSync(join(modules, entry)).map((n) => `${entry}/${n}`) : [entry];
    for (const name of names) {
      const rel = join(prefix, 'node_modules', name);
      if (lstatSync(join(dir, rel)).isSymbolicLink()) continue;
      out.push(rel);
      out.push(...installedPackages(dir, rel));
    }
  }
  return out;
}

function walk(dir: string, visit: (path: string) => void): void {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    visit(path);
    if (lstatSync(path).isDirectory()) walk(path, visit);
  }
}

const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
// Looked up with the host's PATH: the command runs with the image's environment only.
const chroot = execFileSync('sh', ['-c', 'command -v chroot'], { encoding: 'utf8' }).trim();
const devOnly = ['typescript', 'nx', 'eslint', 'node', '@osm/testing', 'fast-check', 'ts-proto', '@bufbuild/buf'];

describe('images', () => {
  let base = '';
  const images = new Map<AppName, string>();
  before(async () => {
    base = await buildBaseImage(options);
    for (const app of Object.keys(apps) as AppName[]) images.set(app, await buildAppImage(app, base, options));
  });
  after(() => {
    try {
      buildah('rm', '--all');
      buildah('rmi', '--all', '--force');
    } finally {
      rmSync(storage, { recursive: true, force: true });
    }
  });

  for (const app of Object.keys(apps) as AppName[]) {
    describe(app, () => {
      let rootfs = '';
      let config: ImageConfig = {};
      before(() => {
        const image = images.get(app) ?? '';
        config = (JSON.parse(buildah('inspect', '--type', 'image', image)) as { OCIv1: { config: ImageConfig } }).OCIv1.config;
        rootfs = buildah('mount', buildah('from', '--pull-never', image));
      });

      it('runs as a non-root user with the app as entrypoint', () => {
        assert.equal(config.User, '65532:65532');
        assert.deepEqual(config.Entrypoint, ['/usr/local/bin/node', '/app/main.ts']);
        assert.equal(config.Cmd, undefined);
        assert.equal(readFileSync(join(rootfs, 'etc/passwd'), 'utf8').split('\n').find((l) => l.startsWith('nonroot:'))?.split(':')[2], '65532');
      });

      it('its entrypoint --version prints what the app in the checkout prints', async () => {
        const env = Object.fromEntries((config.Env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
        const [node = '', ...args] = config.Entrypoint ?? [];
        const inImage = await run(chroot, [`--userspec=${config.User}`, rootfs, node, ...args, '--version'], env);
        const inCheckout = await run(process.execPath, [join(root, `apps/${app}/src/main.ts`), '--version'], env);
        assert.equal(inImage.code, 0, inImage.stderr);
        assert.deepEqual({ stdout: inImage.stdout, stderr: inImage.stderr }, { stdout: inCheckout.stdout, stderr: inCheckout.stderr });
        if (app === 'ca-bootstrap') assert.equal(inImage.stdout, 'ca-bootstrap 0.1.0\n');
      });

      it('is friendly to a read-only root: every path but /tmp is root-owned and not writable by others', () => {
        assert.equal(statSync(join(rootfs, 'tmp')).mode & 0o7777, 0o1777);
        walk(rootfs, (path) => {
          if (path === join(rootfs, 'tmp') || path.startsWith(`${join(rootfs, 'tmp')}/`)) return;
          const s = lstatSync(path);
          if (s.isSymbolicLink()) return;
          assert.equal(s.uid, 0, `${path} owned by root`);
          assert.equal(s.mode & 0o002, 0, `${path} not world-writable`);
        });
      });

      it("holds only this app's code and production packages: no dev dependency, no test, no other app", () => {
        const appDir = join(rootfs, 'app');
        assert.deepEqual(readdirSync(join(appDir, 'apps')), [app]);
        for (const pkg of installedPackages(appDir)) {
          const entry = lock.packages[pkg];
          assert.ok(entry, `${pkg} is in package-lock.json`);
          assert.notEqual(entry.dev, true, `${pkg} is a dev dependency`);
        }
        for (const name of devOnly) assert.ok(!existsSync(join(appDir, 'node_modules', name)), `${name} is not in the image`);
        walk(appDir, (path) => {
          if (path.includes('/node_modules/')) return;
          assert.ok(!/\.spec\.ts$|\/test\//.test(path), `${path} is test code`);
        });
        assert.ok(!existsSync(join(rootfs, 'usr/local/lib/node_modules')), 'no npm in the image');
      });
    });
  }

  it('ca-bootstrap carries the CRDs it applies and the Kubernetes client it imports', () => {
    const rootfs = buildah('mount', buildah('from', '--pull-never', images.get('ca-bootstrap') ?? ''));
    assert.deepEqual(readdirSync(join(rootfs, 'app/deploy/crds')).sort(), readdirSync(join(root, 'deploy/crds')).sort());
    assert.ok(installedPackages(join(rootfs, 'app')).includes('node_modules/@kubernetes/client-node'));
  });
});
