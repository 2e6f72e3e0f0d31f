// Golden patches: each fixture's result (outcome, reason, the JSON patch, the bootstrap files) against
// test/golden/<name>.yaml. UPDATE_GOLDEN=1 rewrites them (a missing file fails otherwise, as in the other
// golden tests); every file was read and checked by hand.
// Beside the files: every patch applies to its pod, and the patched pod is not injected again.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { injectPod, type InjectResult, type Pod } from '../src/index.ts';
import { fixtures } from './fixtures.ts';
import { applyPatch } from './json-patch.ts';

const update = process.env['UPDATE_GOLDEN'] === '1';
const goldenPath = (name: string): URL => new URL(`./golden/${name}.yaml`, import.meta.url);

/** The result as a readable document: the bootstrap files parsed back into structure. */
function render(what: string, result: InjectResult): string {
  const doc: Record<string, unknown> = { what, ...result };
  if (result.outcome === 'inject') {
    doc['bootstrapFiles'] = Object.fromEntries(Object.entries(result.bootstrapFiles).map(([k, v]) => [k, parse(v) as unknown]));
  }
  return stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false });
}

describe('golden patches', () => {
  for (const f of fixtures) {
    it(`${f.name}: ${f.what}`, () => {
      const result = injectPod(f.input);
      const text = render(f.what, result);
      const path = goldenPath(f.name);
      if (update) writeFileSync(path, text);
      assert.ok(existsSync(path), `missing golden file ${path.pathname}; run with UPDATE_GOLDEN=1 and read it`);
      assert.equal(text, readFileSync(path, 'utf8'), `${f.name}: differs from test/golden/${f.name}.yaml (UPDATE_GOLDEN=1 rewrites it)`);

      if (result.outcome !== 'inject') return;
      const patched = applyPatch(f.input.pod, result.patch);
      const again = injectPod({ ...f.input, pod: patched as Pod, proxyUuid: '00000000-0000-4000-8000-000000000000' });
      assert.equal(again.outcome, 'skip', `${f.name}: the patched pod is injected again`);
      assert.match(again.outcome === 'skip' ? again.reason : '', /already has the sidecar/);
    });
  }
});
