// The bookstore demo from Kubernetes objects, with the TrafficSplit's apex written `<name>.<namespace>`
// (as OSM's docs write it), in permissive and SMI mode: bookbuyer's snapshot splits the apex's traffic,
// and equals the snapshot for the apex written `<name>`. Golden dumps under test/golden/<mode>/;
// regenerate with UPDATE_GOLDEN=1 and read the diff.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { buildSnapshot, checkConsistency, describeMissing, dumpSnapshot } from '@osm/xds-snapshot';
import { translate } from '../src/translate.ts';
import type { KubeObjects } from '../src/kube-types.ts';
import { bookstore, meshConfig, trafficSplit } from './fixtures.ts';

const update = process.env['UPDATE_GOLDEN'] === '1';
const inputs = { certificate: { certificateChain: 'bookbuyer certificate', privateKey: 'bookbuyer key' }, trustBundle: 'mesh root' };

function objects(mode: 'permissive' | 'smi', apex: string): KubeObjects {
  const o = bookstore();
  return {
    ...o,
    trafficSplits: [trafficSplit('bookstore', 'bookstore-split', apex, [{ service: 'bookstore-v1', weight: 75 }, { service: 'bookstore-v2', weight: 25 }])],
    meshConfigs: [meshConfig({ traffic: { enablePermissiveTrafficPolicyMode: mode === 'permissive' } })],
  };
}

function bookbuyerDump(o: KubeObjects): string {
  const { model, problems } = translate(o);
  assert.deepEqual(problems, []);
  const proxy = model.proxies.get('u-buyer');
  assert.ok(proxy);
  const snapshot = buildSnapshot(model, proxy, inputs);
  const result = checkConsistency(snapshot);
  assert.ok(result.consistent, describeMissing(result));
  return dumpSnapshot(snapshot);
}

for (const mode of ['permissive', 'smi'] as const) {
  describe(`bookstore from Kubernetes objects, apex written bookstore.bookstore (${mode})`, () => {
    it(`bookbuyer matches test/golden/${mode}/bookbuyer-apex-name-namespace.yaml and splits 75/25`, () => {
      const dump = bookbuyerDump(objects(mode, 'bookstore.bookstore'));
      const dir = new URL(`./golden/${mode}/`, import.meta.url);
      const file = new URL('bookbuyer-apex-name-namespace.yaml', dir);
      if (update) {
        mkdirSync(dir, { recursive: true });
        writeFileSync(file, dump);
      }
      assert.ok(existsSync(file), `missing golden file ${file.pathname}; run with UPDATE_GOLDEN=1`);
      assert.equal(dump, readFileSync(file, 'utf8'));
      assert.match(dump, /- name: bookstore\/bookstore-v1\|14001\n\s+weight: 75\n\s+- name: bookstore\/bookstore-v2\|14001\n\s+weight: 25/);
    });
    it('equals the snapshot for the apex written bookstore and as the FQDN', () => {
      const dump = bookbuyerDump(objects(mode, 'bookstore.bookstore'));
      assert.equal(bookbuyerDump(objects(mode, 'bookstore')), dump);
      assert.equal(bookbuyerDump(objects(mode, 'bookstore.bookstore.svc.cluster.local')), dump);
    });
  });
}
