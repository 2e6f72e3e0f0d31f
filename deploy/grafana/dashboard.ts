// Reads the Grafana dashboard's panel queries, for the tests that check them (syntax here, data against
// a running mesh in deploy/test/monitoring.spec.ts).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dashboardFile = fileURLToPath(new URL('./osm-control-plane.json', import.meta.url));

export interface PanelQuery {
  readonly panel: string;
  readonly refId: string;
  /** The query as Grafana sends it, with its variables (`$__rate_interval`). */
  readonly expr: string;
}

export interface Panel {
  id: number;
  type: string;
  title: string;
  description?: string;
  datasource?: { type: string; uid: string };
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: { refId: string; expr: string; datasource?: { type: string; uid: string } }[];
}

export interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  templating: { list: { name: string; type: string; query?: string }[] };
  panels: Panel[];
}

export function readDashboard(): Dashboard {
  return JSON.parse(readFileSync(dashboardFile, 'utf8')) as Dashboard;
}

/** Every query of every panel (rows have none). */
export function panelQueries(dashboard: Dashboard = readDashboard()): PanelQuery[] {
  return dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, refId: t.refId, expr: t.expr })));
}

/**
 * The query Prometheus would receive from Grafana: `$__rate_interval` becomes `window` (Grafana picks at
 * least four scrape intervals; a test that scrapes every second passes a short window).
 */
export function resolveGrafanaVariables(expr: string, window: string): string {
  return expr.replaceAll('$__rate_interval', window);
}
