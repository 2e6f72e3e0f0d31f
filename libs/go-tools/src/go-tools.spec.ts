import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { goToolBinaries, goToolCacheDir } from './go-tools.ts';

describe('goToolBinaries', () => {
  const moduleDir = mkdtempSync(join(tmpdir(), 'osm-go-tool-'));
  const cache = mkdtempSync(join(tmpdir(), 'osm-go-cache-'));
  const saved = process.env['XDG_CACHE_HOME'];
  process.env['XDG_CACHE_HOME'] = cache;
  after(() => {
    if (saved === undefined) delete process.env['XDG_CACHE_HOME'];
    else process.env['XDG_CACHE_HOME'] = saved;
    rmSync(moduleDir, { recursive: true, force: true });
    rmSync(cache, { recursive: true, force: true });
  });
  writeFileSync(join(moduleDir, 'go.mod'), 'module example.com/hello\n\ngo 1.22\n');
  writeFileSync(join(moduleDir, 'main.go'), 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello from go") }\n');
  const spec = { moduleDir, binaries: { hello: '.' } };

  it('builds once into a cache keyed by go.mod and go.sum, then reuses it', async () => {
    const lines: string[] = [];
    const first = await goToolBinaries(spec, (l) => lines.push(l));
    assert.equal(execFileSync(first['hello'] ?? '', { encoding: 'utf8' }), 'hello from go\n');
    assert.ok(lines.some((l) => l.startsWith('building ')), 'a first build says so');
    const built = statSync(first['hello'] ?? '').mtimeMs;
    const again = await goToolBinaries(spec, (l) => lines.push(`again: ${l}`));
    assert.deepEqual(again, first);
    assert.equal(statSync(again['hello'] ?? '').mtimeMs, built, 'not rebuilt');
    assert.ok(!lines.some((l) => l.startsWith('again:')), 'a cached tool prints nothing');
  });

  it('a changed pin is another cache entry', () => {
    const before = goToolCacheDir(spec);
    writeFileSync(join(moduleDir, 'go.mod'), 'module example.com/hello\n\ngo 1.23\n');
    assert.notEqual(goToolCacheDir(spec), before);
  });

  it('an edited source file of the module is another cache entry', () => {
    const before = goToolCacheDir(spec);
    writeFileSync(join(moduleDir, 'main.go'), 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello again") }\n');
    assert.notEqual(goToolCacheDir(spec), before);
  });

  it('a failed build says which package and why, and leaves nothing behind', async () => {
    writeFileSync(join(moduleDir, 'main.go'), 'package main\n\nfunc main() { undefinedThing() }\n');
    await assert.rejects(goToolBinaries(spec, () => undefined), /go build \. failed \(exit 1\):[\s\S]*undefined: undefinedThing/);
  });
});
