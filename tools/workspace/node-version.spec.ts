import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';

// The project runs on the Node 24 that package.json brings in, not on the machine's Node.
it('runs on the Node major version the project declares', () => {
  const major = Number(process.versions.node.split('.')[0]);
  console.log(`node ${process.version} (${process.execPath})`);
  const nvmrc = Number(readFileSync(new URL('../../.nvmrc', import.meta.url), 'utf8').trim());
  assert.equal(nvmrc, 24);
  assert.equal(major, nvmrc, `tests must run on Node ${nvmrc}, not ${process.version}`);
});
