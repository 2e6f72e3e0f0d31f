import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { ESLint } from 'eslint';

// The lint rules that carry the architecture must really reject what HOUSE-STYLE.md forbids.
const eslint = new ESLint({
  cwd: fileURLToPath(new URL('../..', import.meta.url)),
  // Only the import rules: the probes are not files on disk, so type-aware rules cannot run on them.
  ruleFilter: ({ ruleId }) => ['@nx/enforce-module-boundaries', 'no-restricted-imports', 'no-restricted-properties'].includes(ruleId),
  overrideConfig: { languageOptions: { parserOptions: { projectService: false } } },
});

async function errors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((m) => `${m.ruleId}: ${m.message}`);
}

describe('module boundaries', () => {
  const pureLibs = ['mesh-model', 'xds-snapshot', 'injector-core'];
  const forbidden = ['@kubernetes/client-node', '@grpc/grpc-js', 'node:fs', 'node:net'];

  for (const lib of pureLibs) {
    for (const module of forbidden) {
      it(`rejects ${module} in the pure lib ${lib}`, async () => {
        const found = await errors(`libs/${lib}/src/probe.ts`, `import * as m from '${module}';\nexport const x = m;\n`);
        assert.ok(found.length > 0, `expected an error for ${module} in ${lib}`);
      });
    }
  }

  it('names the enforce-module-boundaries constraint for the Kubernetes client in a pure lib', async () => {
    const found = await errors('libs/xds-snapshot/src/probe.ts', "import { KubeConfig } from '@kubernetes/client-node';\nexport const k = KubeConfig;\n");
    assert.ok(found.some((e) => e.startsWith('@nx/enforce-module-boundaries') && e.includes('type:pure')), found.join('\n'));
  });

  it('rejects the clock in a pure lib', async () => {
    const found = await errors('libs/xds-snapshot/src/probe.ts', 'export const now = Date.now();\n');
    assert.ok(found.some((e) => e.startsWith('no-restricted-properties')), found.join('\n'));
  });

  it('allows the Kubernetes client in k8s-informers', async () => {
    assert.deepEqual(await errors('libs/k8s-informers/src/probe.ts', "import { KubeConfig } from '@kubernetes/client-node';\nexport const k = KubeConfig;\n"), []);
  });

  it('rejects the Kubernetes client in certificates (it takes an interface instead)', async () => {
    const found = await errors('libs/certificates/src/probe.ts', "import { KubeConfig } from '@kubernetes/client-node';\nexport const k = KubeConfig;\n");
    assert.ok(found.some((e) => e.startsWith('@nx/enforce-module-boundaries')), found.join('\n'));
  });

  it('keeps mesh-model free of other libs', async () => {
    const found = await errors('libs/mesh-model/src/probe.ts', "import { envoy } from '@osm/envoy-api';\nexport const e = envoy;\n");
    assert.ok(found.some((e) => e.startsWith('@nx/enforce-module-boundaries')), found.join('\n'));
  });

  it('keeps the test harness out of production code', async () => {
    const found = await errors('apps/controller/src/probe.ts', "import * as t from '@osm/testing';\nexport const x = t;\n");
    assert.ok(found.some((e) => e.startsWith('@nx/enforce-module-boundaries')), found.join('\n'));
    assert.deepEqual(await errors('apps/controller/src/probe.spec.ts', "import * as t from '@osm/testing';\nexport const x = t;\n"), []);
  });

  it('forbids deep imports into a lib', async () => {
    const found = await errors('libs/xds-snapshot/src/probe.ts', "import { envoy } from '@osm/envoy-api/src/index.ts';\nexport const e = envoy;\n");
    assert.ok(found.length > 0, 'expected a deep import to be rejected');
  });
});
