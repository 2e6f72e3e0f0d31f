// Regenerates libs/envoy-api/src/gen from the upstream protos listed in proto/envoy-api.txt.
// Uses only buf and ts-proto from node_modules, plus validate.proto from the Go module pinned in
// tools/protodeps (the copy shipped in @grpc/grpc-js-xds predates its Envoy protos).
//   node tools/envoy-api/generate.ts [--out <dir>]    (default: libs/envoy-api/src/gen)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, renameSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const deps = join(root, 'node_modules/@grpc/grpc-js-xds/deps');

// Options chosen for Node's native TypeScript (erasable syntax only, explicit .ts imports).
const tsProtoOptions = [
  'esModuleInterop=true',
  'importSuffix=.ts',
  'enumsAsLiterals=true',
  'outputServices=grpc-js',
  'outputTypeAnnotations=static-only',
  'outputIndex=true',
  'useDate=false',
  'forceLong=number',
];

function validateProtoDir(): string {
  const out = execFileSync('go', ['mod', 'download', '-json', 'github.com/envoyproxy/protoc-gen-validate'], {
    cwd: join(root, 'tools/protodeps'),
    encoding: 'utf8',
  });
  return (JSON.parse(out) as { Dir: string }).Dir;
}

function protoList(): string[] {
  return readFileSync(join(root, 'proto/envoy-api.txt'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

export function generate(outDir: string): void {
  const work = mkdtempSync(join(tmpdir(), 'osm-envoy-api-'));
  try {
    for (const mod of ['envoy-api', 'xds', 'googleapis']) symlinkSync(join(deps, mod), join(work, mod));
    // Only validate/validate.proto: the rest of that module (java/, tests/) is not ours to compile.
    mkdirSync(join(work, 'validate/validate'), { recursive: true });
    symlinkSync(join(validateProtoDir(), 'validate/validate.proto'), join(work, 'validate/validate/validate.proto'));
    writeFileSync(
      join(work, 'buf.yaml'),
      ['version: v2', 'modules:', ...['envoy-api', 'xds', 'googleapis', 'validate'].map((m) => `  - path: ${m}`)].join('\n') + '\n',
    );
    const staging = join(work, 'out');
    writeFileSync(
      join(work, 'buf.gen.yaml'),
      [
        'version: v2',
        'plugins:',
        `  - local: ${join(root, 'node_modules/.bin/protoc-gen-ts_proto')}`,
        `    out: ${staging}`,
        '    include_imports: true',
        '    strategy: all',
        '    opt:',
        ...tsProtoOptions.map((o) => `      - ${o}`),
      ].join('\n') + '\n',
    );
    const paths = protoList().flatMap((p) => ['--path', join('envoy-api', p)]);
    process.stdout.write(`envoy-api: generating from ${paths.length / 2} protos (and their imports)\n`);
    execFileSync(join(root, 'node_modules/.bin/buf'), ['generate', ...paths], { cwd: work, stdio: 'inherit' });
    // Replace the output only once generation succeeded: nothing half-written on failure.
    if (existsSync(outDir)) rmSync(outDir, { recursive: true });
    mkdirSync(dirname(outDir), { recursive: true });
    renameSync(staging, outDir);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { out: { type: 'string' } } });
  const out = resolve(values.out ?? join(root, 'libs/envoy-api/src/gen'));
  generate(out);
  process.stdout.write(`envoy-api: wrote ${out}\n`);
}
