// The control plane's Prometheus rules, checked and unit-tested by the pinned promtool.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadYaml } from '@kubernetes/client-node';
import { promtool } from '@osm/testing';

const here = fileURLToPath(new URL('.', import.meta.url));
const rulesFile = join(here, 'rules.yaml');
const testFile = join(here, 'rules.test.yaml');
const operationsDoc = join(here, '../../docs/operations.md');

interface RulesFile {
  groups: { name: string; rules: { alert?: string; record?: string; expr: string }[] }[];
}
interface RulesTestFile {
  rule_files: string[];
  tests: { name: string; alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
}

describe('deploy/prometheus/rules.yaml', () => {
  it('passes promtool check rules with every lint on', async () => {
    const { code, stdout, stderr } = await promtool(['check', 'rules', '--lint=all', '--lint-fatal', rulesFile]);
    assert.equal(code, 0, `${stdout}${stderr}`);
    assert.match(stdout, /SUCCESS: \d+ rules found/);
  });

  it('passes its unit tests (promtool test rules rules.test.yaml)', async () => {
    const { code, stdout, stderr } = await promtool(['test', 'rules', testFile]);
    assert.equal(code, 0, `${stdout}${stderr}`);
    assert.match(stdout, /SUCCESS/);
  });

  it('has, for every alert, a unit test that fires it and one where it stays silent', () => {
    const rules = loadYaml<RulesFile>(readFileSync(rulesFile, 'utf8'));
    const tests = loadYaml<RulesTestFile>(readFileSync(testFile, 'utf8'));
    assert.deepEqual(tests.rule_files, ['rules.yaml']);
    const alerts = new Set(rules.groups.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : []))));
    const cases = tests.tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const alert of alerts) {
      const own = cases.filter((c) => c.alertname === alert);
      assert.ok(own.some((c) => c.exp_alerts.length > 0), `${alert}: no unit test fires it`);
      assert.ok(own.some((c) => c.exp_alerts.length === 0), `${alert}: no unit test where it stays silent`);
    }
    assert.deepEqual([...new Set(cases.map((c) => c.alertname))].filter((a) => !alerts.has(a)), [], 'tests of alerts that do not exist');
  });

  it('has every alert, every recorded series and every metric it reads explained in docs/operations.md', () => {
    const doc = readFileSync(operationsDoc, 'utf8');
    const rules = loadYaml<RulesFile>(readFileSync(rulesFile, 'utf8')).groups.flatMap((g) => g.rules);
    for (const alert of new Set(rules.flatMap((r) => (r.alert ? [r.alert] : [])))) assert.match(doc, new RegExp(`^### ${alert}$`, 'm'), `no section for ${alert}`);
    for (const record of rules.flatMap((r) => (r.record ? [r.record] : []))) assert.ok(doc.includes(`\`${record}\``), `${record} not explained`);
    for (const metric of new Set(rules.flatMap((r) => r.expr.match(/\bosm_[a-z0-9_]+/g) ?? []))) {
      assert.ok(doc.includes(`\`${metric.replace(/_bucket$/, '')}\``), `${metric} not explained`);
    }
  });

  it('fails a unit test when an alert is broken (the tests are not vacuous)', async () => {
    // The same tests against a copy whose webhook threshold lets every failure through.
    const dir = mkdtempSync(join(tmpdir(), 'osm-rules-'));
    try {
      const broken = readFileSync(rulesFile, 'utf8').replace('> 0.1\n', '> 0.5\n');
      assert.notEqual(broken, readFileSync(rulesFile, 'utf8'));
      writeFileSync(join(dir, 'rules.yaml'), broken);
      writeFileSync(join(dir, 'rules.test.yaml'), readFileSync(testFile, 'utf8'));
      const { code, stdout, stderr } = await promtool(['test', 'rules', join(dir, 'rules.test.yaml')]);
      assert.equal(code, 1);
      assert.match(`${stdout}${stderr}`, /alertname: OsmAdmissionWebhookFailures/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
