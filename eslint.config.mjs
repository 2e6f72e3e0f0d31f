// Lint rules that carry the architecture (see HOUSE-STYLE.md "Direction of dependencies").
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';
import { readFileSync, readdirSync } from 'node:fs';

// Pure libs are those tagged type:pure in their project.json; read here so the list lives in one place.
const libsDir = new URL('./libs/', import.meta.url);
const pureLibGlobs = readdirSync(libsDir)
  .filter((dir) => JSON.parse(readFileSync(new URL(`${dir}/project.json`, libsDir), 'utf8')).tags.includes('type:pure'))
  .map((dir) => `libs/${dir}/**/*.ts`);

const ioModules = ['fs', 'fs/promises', 'net', 'tls', 'http', 'https', 'http2', 'dgram', 'dns', 'child_process', 'cluster', 'timers', 'timers/promises'];
const ioImports = ioModules.flatMap((m) => [m, `node:${m}`]);

const pureExternalBans = ['@kubernetes/client-node', '@kubernetes/client-node/*', '@grpc/*', 'pino', '@opentelemetry/*'];

// Libs are imported only through their public entry (package.json `exports` enforces it at run time too).
const deepImport = { group: ['@osm/*/*'], message: 'Import a lib only through its public entry @osm/<name>.' };
// Tests may also use a lib's test fixtures entry, @osm/<name>/testing (package.json exports).
const deepImportInTests = { group: ['@osm/*/*', '!@osm/*/testing'], message: 'Import a lib only through its public entry @osm/<name> (or, in tests, @osm/<name>/testing).' };

const depConstraints = (testing) => [
  // mesh-model depends on nothing of ours.
  { sourceTag: 'scope:model', onlyDependOnLibsWithTags: ['scope:model'], bannedExternalImports: pureExternalBans },
  { sourceTag: 'type:pure', onlyDependOnLibsWithTags: ['type:pure', 'type:generated', ...testing], bannedExternalImports: pureExternalBans },
  { sourceTag: 'type:generated', onlyDependOnLibsWithTags: ['type:generated'] },
  { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:pure', 'type:generated', 'type:lib', ...testing] },
  // Only k8s-informers and mesh-catalog (and apps' wiring, and the test harness) talk to the Kubernetes API.
  { sourceTag: 'k8s:none', bannedExternalImports: ['@kubernetes/client-node', '@kubernetes/client-node/*'] },
  { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:pure', 'type:generated', 'type:lib', 'type:testing'] },
  { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:pure', 'type:generated', 'type:lib', ...testing] },
  { sourceTag: 'type:tools', onlyDependOnLibsWithTags: ['type:pure', 'type:generated', 'type:lib', 'type:testing'] },
];

const boundaries = (testing) => ({
  '@nx/enforce-module-boundaries': [
    'error',
    {
      enforceBuildableLibDependency: false,
      banTransitiveDependencies: false,
      checkDynamicDependenciesExceptions: [],
      depConstraints: depConstraints(testing),
      // A lib's tests use the harness, which may use that lib (a fixture CA, real metrics): a cycle
      // through test code only, which these files alone may close.
      ...(testing.length > 0 ? { ignoredCircularDependencies: [['testing', '*']] } : {}),
    },
  ],
});

export default [
  { ignores: ['**/node_modules/**', '**/dist/**', '**/.nx/**', 'libs/envoy-api/src/gen/**', 'bench-results/**'] },
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      ...boundaries([]),
      // node:test's describe/it return promises that the runner itself awaits.
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }] }],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
      'no-restricted-imports': ['error', { patterns: [deepImport] }],
    },
  },
  // Tests (and test-only code) may use the test harness.
  {
    files: ['**/*.spec.ts', '**/test/**/*.ts', 'libs/testing/**/*.ts', 'tools/**/*.ts'],
    rules: { ...boundaries(['type:testing']), 'no-restricted-imports': ['error', { patterns: [deepImportInTests] }] },
  },
  // Pure libs: no I/O modules and no clock or randomness; time and randomness come in as values.
  {
    files: pureLibGlobs,
    ignores: ['**/*.spec.ts', '**/test/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: ioImports.map((name) => ({ name, message: 'Pure libs do no I/O: take data in, return data out.' })), patterns: [deepImport, { group: pureExternalBans, message: 'Pure libs import no Kubernetes client, gRPC, logger or telemetry.' }] }],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Pure libs take time as a value.' },
        { object: 'Math', property: 'random', message: 'Pure libs take randomness as a value.' },
        { object: 'performance', property: 'now', message: 'Pure libs take time as a value.' },
      ],
      'no-restricted-syntax': ['error', { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'Pure libs take time as a value.' }],
      'no-restricted-globals': ['error', 'setTimeout', 'setInterval', 'setImmediate', 'fetch', 'process'],
    },
  },
  {
    files: ['tools/**/*.ts', '**/*.spec.ts', '**/test/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
];
