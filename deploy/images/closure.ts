// What an app's image holds: the source files its entry point reaches through its imports (relative
// files, JSON, the workspace libs by their package.json `exports`), and the npm packages those import,
// with their own production dependencies (dependencies, optionalDependencies, installed peers).
// Type-only imports are skipped: Node's type stripping erases them, so they load nothing.
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

export interface Closure {
  /** Workspace files, relative to the workspace root (sources, JSON, the libs' and the app's package.json). */
  readonly files: readonly string[];
  /** Workspace libs reached (npm package name -> folder relative to the root), linked under node_modules. */
  readonly workspaceLinks: ReadonlyMap<string, string>;
  /** npm package folders (relative to the root, under node_modules), each copied whole. */
  readonly packages: readonly string[];
}

interface PackageJson {
  readonly name?: string;
  readonly exports?: string | Record<string, unknown>;
  readonly dependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
}

const builtins = new Set(builtinModules);

/** The module specifiers a file loads at run time (static and literal dynamic imports, re-exports). */
export function runtimeImports(fileName: string, text: string): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const out: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier) && !node.importClause?.isTypeOnly) out.push(node.moduleSpecifier.text);
    else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier) && !node.isTypeOnly) out.push(node.moduleSpecifier.text);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) out.push(node.arguments[0].text);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

function readJson(path: string): PackageJson {
  return JSON.parse(readFileSync(path, 'utf8')) as PackageJson;
}

/** Node's lookup of a package folder from a directory: <dir>/node_modules/<name>, then each parent's. */
function findPackage(root: string, fromDir: string, name: string): string | undefined {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === root || dir === dirname(dir)) return undefined;
  }
}

export function appClosure(root: string, entry: string): Closure {
  const files = new Set<string>();
  const workspaceLinks = new Map<string, string>();
  const externals: { name: string; from: string }[] = [];
  const workspaceLibs = new Map<string, string>();
  for (const dir of ['libs', 'apps']) {
    for (const name of existsSync(join(root, dir)) ? (ts.sys.getDirectories(join(root, dir)) ?? []) : []) {
      const pkgPath = join(root, dir, name, 'package.json');
      if (existsSync(pkgPath)) workspaceLibs.set(readJson(pkgPath).name ?? '', join(root, dir, name));
    }
  }

  const queue = [resolve(root, entry)];
  const addFile = (abs: string): void => {
    const rel = relative(root, abs);
    if (files.has(rel)) return;
    files.add(rel);
    queue.push(abs);
  };
  files.add(relative(root, queue[0] ?? ''));
  // The nearest package.json of each source file decides its module type and its self-imports.
  const addPackageJson = (abs: string): void => {
    for (let dir = dirname(abs); dir.startsWith(root) && dir !== root; dir = dirname(dir)) {
      if (existsSync(join(dir, 'package.json'))) {
        files.add(relative(root, join(dir, 'package.json')));
        return;
      }
    }
  };

  while (queue.length > 0) {
    const file = queue.shift() ?? '';
    addPackageJson(file);
    if (!/\.[cm]?[tj]s$/.test(file)) continue;
    for (const specifier of runtimeImports(file, readFileSync(file, 'utf8'))) {
      if (specifier.startsWith('.') || specifier.startsWith('/')) {
        const target = resolve(dirname(file), specifier);
        if (!existsSync(target)) throw new Error(`${relative(root, file)} imports ${specifier}, which does not exist`);
        addFile(target);
      } else if (specifier.startsWith('node:') || builtins.has(specifier) || builtins.has(packageName(specifier))) {
        continue;
      } else if (workspaceLibs.has(packageName(specifier))) {
        const name = packageName(specifier);
        const dir = workspaceLibs.get(name) ?? '';
        workspaceLinks.set(name, relative(root, dir));
        const pkg = readJson(join(dir, 'package.json'));
        const exported = typeof pkg.exports === 'string' ? pkg.exports : (pkg.exports?.['.'] as string | undefined);
        if (!exported || specifier !== name) throw new Error(`${relative(root, file)} imports ${specifier}: workspace libs are imported only through their public entry`);
        addFile(resolve(dir, exported));
      } else {
        externals.push({ name: packageName(specifier), from: dirname(realpathSync(file)) });
      }
    }
  }

  const packages = new Set<string>();
  while (externals.length > 0) {
    const { name, from } = externals.shift() ?? { name: '', from: '' };
    const dir = findPackage(root, from, name);
    if (!dir) throw new Error(`package ${name} (imported from ${relative(root, from)}) is not installed`);
    const rel = relative(root, dir);
    if (packages.has(rel)) continue;
    packages.add(rel);
    const pkg = readJson(join(dir, 'package.json'));
    const optional = new Set(Object.keys(pkg.optionalDependencies ?? {}));
    const peers = Object.keys(pkg.peerDependencies ?? {});
    for (const dep of [...Object.keys(pkg.dependencies ?? {}), ...optional, ...peers]) {
      // Optional dependencies and peers may be absent (another platform's binary, a peer nobody installed).
      if (!findPackage(root, dir, dep) && (optional.has(dep) || peers.includes(dep))) continue;
      externals.push({ name: dep, from: dir });
    }
  }
  return { files: [...files].sort(), workspaceLinks, packages: [...packages].sort() };
}
