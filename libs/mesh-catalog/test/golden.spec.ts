// The bookstore demo from Kubernetes objects, with the TrafficSplit's apex written `<name>.<namespace>`
// (as OSM's docs write it), in permissive and SMI mode: bookbuyer's snapshot splits the apex's traffic,
// and equals the snapshot for the apex written `<name>`. Golden dumps under test/golden/<mode>/;
// regenerate with UPDATE_GOLDEN=1 and read the diff. Each golden snapshot also passes the independent
// Envoy-rule check (go-control-plane's types and ValidateAll, references resolved).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { checkEnvoyResources, formatEnvoyProblems, xdsGoBinaries } from '@osm/testing';
import { buildSnapshot, checkConsistency, describeMissing, dumpSnapshot, type Snapshot } from '@osm/xds-snapshot';
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

function bookbuyerSnapshot(o: KubeObjects): Snapshot {
  const { model, problems } = translate(o);
  assert.deepEqual(problems, []);
  const proxy = model.proxies.get('u-buyer');
  assert.ok(proxy);
  const snapshot = buildSnapshot(model, proxy, inputs);
  const result = checkConsistency(snapshot);
  assert.ok(result.consistent, describeMissing(result));
  return snapshot;
}

const bookbuyerDump = (o: KubeObjects): string => dumpSnapshot(bookbuyerSnapshot(o));

for (const mode of ['permissive', 'smi'] as const) {
  describe(`bookstore from Kubernetes objects, apex written bookstore.bookstore (${mode})`, () => {
    before(async () => {
      await xdsGoBinaries(); // the first build compiles go-control-plane (minutes), once
    });
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
    it(`passes Envoy's rules (envoy-check over test/golden/${mode}/bookbuyer-apex-name-namespace.yaml)`, async () => {
      const report = await checkEnvoyResources(bookbuyerSnapshot(objects(mode, 'bookstore.bookstore')));
      assert.deepEqual(report.problems, [], formatEnvoyProblems(report.problems));
      assert.equal(report.ok, true);
    });
    it('equals the snapshot for the apex written bookstore and as the FQDN', () => {
      const dump = bookbuyerDump(objects(mode, 'bookstore.bookstore'));
      assert.equal(bookbuyerDump(objects(mode, 'bookstore')), dump);
      assert.equal(bookbuyerDump(objects(mode, 'bookstore.bookstore.svc.cluster.local')), dump);
    });
  });
}
