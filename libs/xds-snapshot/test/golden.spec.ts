// Golden dumps of the bookstore demo, one per proxy and mode, under test/golden/<mode>/<proxy>.yaml.
// Regenerate after a deliberate change with UPDATE_GOLDEN=1, then review the diff.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { buildSnapshot, checkConsistency, describeMissing, dumpSnapshot } from '../src/index.ts';
import { bookstoreModel, inputsFor, proxies } from './bookstore.ts';

const update = process.env['UPDATE_GOLDEN'] === '1';

for (const mode of ['permissive', 'smi'] as const) {
  describe(`bookstore golden dumps (${mode})`, () => {
    const model = bookstoreModel(mode);
    for (const [name, proxy] of Object.entries(proxies)) {
      it(`${name} matches test/golden/${mode}/${name}.yaml and is consistent`, () => {
        const snapshot = buildSnapshot(model, proxy, inputsFor(proxy));
        const result = checkConsistency(snapshot);
        assert.ok(result.consistent, describeMissing(result));
        const dump = dumpSnapshot(snapshot);
        const dir = new URL(`./golden/${mode}/`, import.meta.url);
        const file = new URL(`${name}.yaml`, dir);
        if (update) {
          mkdirSync(dir, { recursive: true });
          writeFileSync(file, dump);
        }
        assert.ok(existsSync(file), `missing golden file ${file.pathname}; run with UPDATE_GOLDEN=1`);
        assert.equal(dump, readFileSync(file, 'utf8'));
      });
    }
  });
}
