// The Grafana dashboard's shape and the syntax of its queries (that they return data is proven against a
// running mesh in deploy/test/monitoring.spec.ts).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promtool } from '@osm/testing';
import { panelQueries, readDashboard, resolveGrafanaVariables } from './dashboard.ts';

const operationsDoc = fileURLToPath(new URL('../../docs/operations.md', import.meta.url));

describe('deploy/grafana/osm-control-plane.json', () => {
  const dashboard = readDashboard();

  it('has a uid, a title and a Prometheus data source variable that every query uses', () => {
    assert.equal(dashboard.uid, 'osm-control-plane');
    assert.ok(dashboard.title);
    assert.ok(dashboard.schemaVersion >= 36, 'a schema Grafana 9+ reads without migrating');
    assert.deepEqual(
      dashboard.templating.list.filter((v) => v.name === 'datasource').map((v) => [v.type, v.query]),
      [['datasource', 'prometheus']],
    );
    for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) {
      assert.deepEqual(panel.datasource, { type: 'prometheus', uid: '${datasource}' }, panel.title);
      assert.ok(panel.targets && panel.targets.length > 0, `${panel.title}: no query`);
      for (const t of panel.targets) assert.deepEqual(t.datasource, { type: 'prometheus', uid: '${datasource}' }, `${panel.title} ${t.refId}`);
      assert.equal(new Set(panel.targets.map((t) => t.refId)).size, panel.targets.length, `${panel.title}: refIds repeat`);
      assert.ok(panel.description && panel.description.length > 20, `${panel.title}: say what it shows`);
    }
  });

  it('lays panels out on the 24-column grid without overlaps, with unique ids', () => {
    assert.equal(new Set(dashboard.panels.map((p) => p.id)).size, dashboard.panels.length);
    const cells = new Map<string, string>();
    for (const p of dashboard.panels) {
      const { x, y, w, h } = p.gridPos;
      assert.ok(x >= 0 && w > 0 && x + w <= 24, `${p.title}: x ${x} w ${w}`);
      for (let i = x; i < x + w; i++) {
        for (let j = y; j < y + h; j++) {
          const taken = cells.get(`${i},${j}`);
          assert.equal(taken, undefined, `${p.title} overlaps ${taken}`);
          cells.set(`${i},${j}`, p.title);
        }
      }
    }
  });

  it('shows what the on-call needs: each subject of issue 11 has a panel', () => {
    const queries = panelQueries(dashboard).map((q) => q.expr).join('\n');
    for (const metric of [
      'osm_proxy_connect_count', 'osm_proxy_response_send_success_count', 'osm_proxy_config_update_time_bucket', 'osm_proxy_xds_nack_total', 'osm_proxy_xds_refused_total',
      'osm_proxy_response_send_error_count', 'osm_cert_issued_count', 'osm_cert_issued_time_bucket', 'osm_admission_webhook_response_total',
      'osm_k8s_api_event_count', 'process_resident_memory_bytes', 'nodejs_eventloop_delay_p99_seconds',
    ]) {
      assert.match(queries, new RegExp(`\\b${metric}\\b`), `no panel shows ${metric}`);
    }
    assert.match(queries, /sum by \(instance\) \(osm_proxy_connect_count\)/, 'proxies per replica');
  });

  it('has queries Prometheus parses (promtool check rules on them as recording rules)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'osm-dashboard-'));
    try {
      const rules = panelQueries(dashboard).map((q, i) => `      - record: panel_${i}\n        expr: ${JSON.stringify(resolveGrafanaVariables(q.expr, '1m'))}`);
      writeFileSync(join(dir, 'panels.yaml'), `groups:\n  - name: panels\n    rules:\n${rules.join('\n')}\n`);
      const { code, stdout, stderr } = await promtool(['check', 'rules', '--lint=none', join(dir, 'panels.yaml')]);
      assert.equal(code, 0, `${stdout}${stderr}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names only metrics that docs/operations.md explains', () => {
    const doc = readFileSync(operationsDoc, 'utf8');
    const metrics = new Set(panelQueries(dashboard).flatMap((q) => q.expr.match(/\b(?:osm|process|nodejs)_[a-z0-9_]+/g) ?? []));
    for (const m of metrics) {
      const base = m.replace(/_bucket$/, '');
      assert.ok(doc.includes(`\`${base}\``), `docs/operations.md does not explain ${base}`);
    }
  });
});
