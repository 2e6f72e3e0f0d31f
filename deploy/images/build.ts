// Builds the image of one app with buildah (Debian's package; no daemon, no registry): stages the app's
// closure (closure.ts) and builds Containerfile on a base given with --base, or on the Node base that it
// assembles first from the npm package `node` (base.Containerfile).
//   node deploy/images/build.ts <controller|injector|ca-bootstrap> [--base IMAGE] [--tag IMAGE]
//        [--storage-driver vfs] [--root DIR --runroot DIR]
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { appClosure } from './closure.ts';

export const root = fileURLToPath(new URL('../../', import.meta.url));
const here = fileURLToPath(new URL('./', import.meta.url));

/** Each app: its image name (the chart's osm.image.name.*) and what else it reads at run time. */
export const apps = {
  controller: { image: 'osm-controller', include: [] },
  injector: { image: 'osm-injector', include: [] },
  // ca-bootstrap applies the CRDs from ../../../deploy/crds relative to its sources (its --crds-dir default).
  'ca-bootstrap': { image: 'osm-bootstrap', include: ['deploy/crds'] },
} as const satisfies Record<string, { image: string; include: readonly string[] }>;
export type AppName = keyof typeof apps;

export interface BuildahOptions {
  /** buildah's storage driver (vfs works everywhere, including inside containers). */
  readonly storageDriver?: string;
  /** Storage root and run root (default: buildah's, /var/lib/containers for root). */
  readonly root?: string;
  readonly runroot?: string;
  readonly progress: (line: string) => void;
}

export function buildahArgs(options: Omit<BuildahOptions, 'progress'>): string[] {
  return [
    ...(options.storageDriver ? ['--storage-driver', options.storageDriver] : []),
    ...(options.root ? ['--root', options.root] : []),
    ...(options.runroot ? ['--runroot', options.runroot] : []),
  ];
}

function buildah(options: BuildahOptions, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('buildah', [...buildahArgs(options), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const tail: string[] = [];
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      for (const line of c.split('\n').filter(Boolean)) {
        tail.push(line);
        if (tail.length > 20) tail.shift();
      }
    });
    child.on('error', (err) => reject(new Error(`cannot run buildah (apt-get install -y buildah): ${err.message}`)));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`buildah ${args.join(' ')} failed (exit ${code}):\n${tail.join('\n')}`))));
  });
}

export function nodeVersion(): string {
  return execFileSync(join(root, 'node_modules/node/bin/node'), ['--version'], { encoding: 'utf8' }).trim();
}

/** The shared libraries a binary links, as ldd prints them (absolute paths; the vDSO has none). */
function linkedLibraries(binary: string): string[] {
  const out = execFileSync('ldd', [binary], { encoding: 'utf8' });
  return [...out.matchAll(/(?:=>\s*)?(\/\S+)\s+\(0x/g)].map((m) => m[1] ?? '').filter(Boolean);
}

async function imageExists(options: BuildahOptions, image: string): Promise<boolean> {
  try {
    await buildah(options, ['inspect', '--type', 'image', image]);
    return true;
  } catch {
    return false;
  }
}

/** The Node base image (built once per Node version and storage); returns its name. */
export async function buildBaseImage(options: BuildahOptions): Promise<string> {
  const version = nodeVersion();
  const image = `localhost/osm-ts/node-base:${version}`;
  if (await imageExists(options, image)) return image;
  const context = mkdtempSync(join(tmpdir(), 'osm-image-base-'));
  try {
    const rootfs = join(context, 'rootfs');
    const node = join(root, 'node_modules/node/bin/node');
    for (const lib of linkedLibraries(node)) {
      mkdirSync(join(rootfs, dirname(lib)), { recursive: true });
      copyFileSync(lib, join(rootfs, lib));
    }
    mkdirSync(join(rootfs, 'usr/local/bin'), { recursive: true });
    copyFileSync(node, join(rootfs, 'usr/local/bin/node'));
    chmodSync(join(rootfs, 'usr/local/bin/node'), 0o755);
    mkdirSync(join(rootfs, 'etc'));
    writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n');
    writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\nnonroot:x:65532:\n');
    writeFileSync(join(rootfs, 'etc/nsswitch.conf'), 'hosts: files dns\n');
    mkdirSync(join(rootfs, 'home/nonroot'), { recursive: true });
    mkdirSync(join(rootfs, 'tmp'));
    chmodSync(join(rootfs, 'tmp'), 0o1777);
    options.progress(`building ${image} (node ${version} and ${linkedLibraries(node).length} libraries)`);
    await buildah(options, ['build', '--layers=false', '-f', join(here, 'base.Containerfile'), '-t', image, context]);
    return image;
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}

/** Stages the app's files into <context>/app (see Containerfile). */
export function stageApp(app: AppName, context: string): void {
  const closure = appClosure(root, `apps/${app}/src/main.ts`);
  const dest = join(context, 'app');
  for (const file of closure.files) {
    mkdirSync(join(dest, dirname(file)), { recursive: true });
    copyFileSync(join(root, file), join(dest, file));
  }
  for (const dir of apps[app].include) cpSync(join(root, dir), join(dest, dir), { recursive: true, dereference: true });
  for (const [name, dir] of closure.workspaceLinks) {
    const link = join(dest, 'node_modules', name);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(relative(dirname(link), join(dest, dir)), link);
  }
  // A package's nested node_modules holds other packages: those in the closure are copied on their own.
  for (const pkg of closure.packages) cpSync(join(root, pkg), join(dest, pkg), { recursive: true, verbatimSymlinks: true, filter: (src) => !src.startsWith(join(root, pkg, 'node_modules')) });
  symlinkSync(`apps/${app}/src/main.ts`, join(dest, 'main.ts'));
}

/** Builds the app's image on `base`; returns the image name. */
export async function buildAppImage(app: AppName, base: string, options: BuildahOptions & { readonly tag?: string }): Promise<string> {
  const version = (JSON.parse(readFileSync(join(root, `apps/${app}/package.json`), 'utf8')) as { version: string }).version;
  const image = options.tag ?? `localhost/osm-ts/${apps[app].image}:${version}`;
  const context = mkdtempSync(join(tmpdir(), `osm-image-${app}-`));
  try {
    stageApp(app, context);
    options.progress(`building ${image} on ${base}`);
    await buildah(options, ['build', '--layers=false', '--pull-never', '--build-arg', `BASE=${base}`, '--build-arg', `APP=${app}`, '--build-arg', `VERSION=${version}`, '-f', join(here, 'Containerfile'), '-t', image, context]);
    return image;
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { base: { type: 'string' }, tag: { type: 'string' }, 'storage-driver': { type: 'string' }, root: { type: 'string' }, runroot: { type: 'string' } },
  });
  const app = positionals[0] as AppName | undefined;
  if (!app || !(app in apps) || positionals.length !== 1) {
    process.stderr.write(`usage: node deploy/images/build.ts <${Object.keys(apps).join('|')}> [--base IMAGE] [--tag IMAGE] [--storage-driver DRIVER] [--root DIR --runroot DIR]\n`);
    process.exit(2);
  }
  const options: BuildahOptions & { tag?: string } = {
    progress: (line) => process.stderr.write(`[image] ${line}\n`),
    ...(values['storage-driver'] ? { storageDriver: values['storage-driver'] } : {}),
    ...(values.root ? { root: values.root } : {}),
    ...(values.runroot ? { runroot: values.runroot } : {}),
    ...(values.tag ? { tag: values.tag } : {}),
  };
  try {
    const base = values.base ?? (await buildBaseImage(options));
    process.stdout.write(`${await buildAppImage(app, base, options)}\n`);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  }
}
