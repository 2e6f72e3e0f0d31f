import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { generate } from './generate.ts';

const committed = fileURLToPath(new URL('../../libs/envoy-api/src/gen', import.meta.url));

function files(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) {
      const path = join(entry.parentPath, entry.name);
      out.set(relative(dir, path), readFileSync(path, 'utf8'));
    }
  }
  return out;
}

// The generated Envoy API is committed; this fails CI when it no longer matches its inputs.
it('libs/envoy-api/src/gen is what the generator writes today', () => {
  const work = mkdtempSync(join(tmpdir(), 'osm-envoy-api-check-'));
  after(() => rmSync(work, { recursive: true, force: true }));
  generate(join(work, 'gen'));
  const want = files(join(work, 'gen'));
  const have = files(committed);
  assert.ok(want.size > 100, `expected the generator to write the Envoy API, got ${want.size} files`);
  assert.deepEqual([...have.keys()].sort(), [...want.keys()].sort(), 'generated file set is stale: run `npx nx run envoy-api:generate`');
  const stale = [...want].filter(([path, text]) => have.get(path) !== text).map(([path]) => path);
  assert.deepEqual(stale, [], 'generated files are stale: run `npx nx run envoy-api:generate`');
});
