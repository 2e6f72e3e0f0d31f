import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { controlPlaneBinaries, pinnedVersions } from './binaries.ts';

const ignore = (_line: string): void => undefined;

describe('control-plane binaries', () => {
  const dir = mkdtempSync(join(tmpdir(), 'osm-ts-assets-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the pinned versions from tools/envtest/go.mod', () => {
    const { kubernetes, etcd } = pinnedVersions();
    assert.match(kubernetes, /^v1\.\d+\.\d+$/);
    assert.match(etcd, /^v3\.\d+\.\d+$/);
  });

  it('takes the binaries from KUBEBUILDER_ASSETS when set, and says when they are missing there', async () => {
    const saved = process.env['KUBEBUILDER_ASSETS'];
    process.env['KUBEBUILDER_ASSETS'] = dir;
    try {
      await assert.rejects(controlPlaneBinaries(ignore), /KUBEBUILDER_ASSETS=.* has no kube-apiserver and etcd/);
      writeFileSync(join(dir, 'kube-apiserver'), '');
      writeFileSync(join(dir, 'etcd'), '');
      assert.deepEqual(await controlPlaneBinaries(ignore), { kubeApiServer: join(dir, 'kube-apiserver'), etcd: join(dir, 'etcd') });
    } finally {
      if (saved === undefined) delete process.env['KUBEBUILDER_ASSETS'];
      else process.env['KUBEBUILDER_ASSETS'] = saved;
    }
  });
});
