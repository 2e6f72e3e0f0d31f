import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createObservability, type Observability } from '@osm/observability';
import { checkMetrics, eventually, promtool, startPrometheus, type Prometheus, type QueryResult } from '../src/index.ts';
import { processStartTime } from '../src/reaper.ts';

const values = (r: QueryResult): string[] => (r.resultType === 'vector' ? r.result.map((s) => s.value[1]) : []);

describe('checkMetrics (promtool check metrics)', () => {
  it('passes a clean exposition', async () => {
    const text = '# HELP demo_requests_total Requests.\n# TYPE demo_requests_total counter\ndemo_requests_total{code="200"} 3\n';
    assert.deepEqual(await checkMetrics(text), { parsed: true, problems: [] });
  });

  it('returns each lint problem with its metric', async () => {
    const text = '# HELP demo_requests Requests.\n# TYPE demo_requests counter\ndemo_requests 3\n# TYPE demo_queue_count gauge\ndemo_queue_count 1\n';
    const check = await checkMetrics(text);
    assert.ok(check.parsed);
    assert.deepEqual(
      [...check.problems].sort((a, b) => `${a.metric}${a.problem}`.localeCompare(`${b.metric}${b.problem}`)),
      [
        { metric: 'demo_queue_count', problem: 'no help text' },
        { metric: 'demo_queue_count', problem: 'non-histogram and non-summary metrics should not have "_count" suffix' },
        { metric: 'demo_requests', problem: 'counter metrics should have "_total" suffix' },
      ],
    );
  });

  it('says when the exposition does not parse', async () => {
    const check = await checkMetrics('# TYPE x counter\nx{ 1\n');
    assert.equal(check.parsed, false);
    assert.match(check.parsed ? '' : check.error, /exited 1/);
  });
});

describe('startPrometheus', () => {
  let obs: Observability;
  let prometheus: Prometheus;
  let ticker: NodeJS.Timeout | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'osm-prometheus-spec-'));
  const rulesFile = join(dir, 'rules.yaml');
  writeFileSync(
    rulesFile,
    [
      'groups:',
      '  - name: spec',
      '    rules:',
      '      - record: spec:demo_events:rate1m',
      '        expr: sum(rate(demo_events_total[1m]))',
      '      - alert: SpecDemoEventsSeen',
      '        expr: sum(demo_events_total) > 0',
      '',
    ].join('\n'),
  );

  before(async () => {
    obs = await createObservability({
      component: 'prometheus-spec',
      version: { version: '1.2.3' },
      admin: { host: '127.0.0.1', port: 0 },
      shutdown: { handleSignals: false },
      logDestination: { write: () => undefined },
    });
    const events = obs.metrics.counter('demo_events_total', { help: 'Demo events.' });
    ticker = setInterval(() => events.inc(), 100);
    prometheus = await startPrometheus({ targets: [{ job: 'osm-demo', address: `127.0.0.1:${obs.admin.port}` }, { job: 'osm-gone', address: '127.0.0.1:1' }], ruleFiles: [rulesFile] });
  });
  after(async () => {
    clearInterval(ticker);
    await prometheus?.stop();
    await obs?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('scrapes the targets it is given, and says which are down and why', async () => {
    await eventually('both targets scraped', async () => {
      const targets = await prometheus.targets();
      return targets.length === 2 && targets.every((t) => t.health !== 'unknown');
    });
    const targets = await prometheus.targets();
    assert.deepEqual(targets.map((t) => [t.job, t.instance, t.health]).sort(), [
      ['osm-demo', `127.0.0.1:${obs.admin.port}`, 'up'],
      ['osm-gone', '127.0.0.1:1', 'down'],
    ]);
    assert.match(targets.find((t) => t.job === 'osm-gone')?.lastError ?? '', /connection refused/);
    await assert.rejects(prometheus.waitForTargetsUp(1500), /every scrape target up not ready after 1\.5 s[\s\S]*osm-gone/);
  });

  it('answers queries over what it scraped, with the job label', async () => {
    await eventually('the version scraped', async () => values(await prometheus.query('osm_version_info{job="osm-demo",version="1.2.3"}')).length === 1);
    await eventually('a rate over two scrapes', async () => values(await prometheus.query('rate(demo_events_total[1m])')).some((v) => Number(v) > 0));
  });

  it('evaluates the rule files it is given', async () => {
    await eventually('the recording rule has a value', async () => values(await prometheus.query('spec:demo_events:rate1m')).some((v) => Number(v) > 0));
    await eventually('the alert fires', async () => (await prometheus.rules()).some((r) => r.name === 'SpecDemoEventsSeen' && r.state === 'firing'));
    const rules = await prometheus.rules();
    assert.deepEqual(rules.map((r) => [r.group, r.name, r.type, r.health]), [
      ['spec', 'spec:demo_events:rate1m', 'recording', 'ok'],
      ['spec', 'SpecDemoEventsSeen', 'alerting', 'ok'],
    ]);
  });

  it("rejects a bad query with Prometheus's reason", async () => {
    await assert.rejects(prometheus.query('sum(rate(demo_events_total))'), /bad_data: .*expected type range vector/);
  });

  it('stops; a second stop does nothing', async () => {
    const other = await startPrometheus({ targets: [] });
    assert.equal((await fetch(`${other.url}/-/ready`)).status, 200);
    const [pid] = other.pids();
    await other.stop();
    await assert.rejects(fetch(`${other.url}/-/ready`));
    assert.equal(processStartTime(pid ?? 0), undefined, 'the process is gone');
    assert.deepEqual(other.pids(), []);
    await other.stop();
  });
});

describe('a test process SIGKILLed while its Prometheus runs', () => {
  it('leaves Prometheus running; the next start reaps it and its folder', async () => {
    const owner = spawn(process.execPath, [fileURLToPath(new URL('./owners/prometheus-owner.ts', import.meta.url))], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<void>((resolve) => owner.once('exit', () => resolve()));
    const report = await new Promise<string>((resolve, reject) => {
      let out = '';
      owner.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
        if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')));
      });
      void exited.then(() => reject(new Error('the owner process exited before its Prometheus was up')));
    });
    const { pids } = JSON.parse(report) as { pids: number[] };
    assert.equal(pids.length, 1);
    owner.kill('SIGKILL');
    await exited;
    const running = (pid: number): boolean => processStartTime(pid) !== undefined;
    assert.deepEqual(pids.filter(running), pids, 'no exit hook ran: Prometheus outlives its test process');

    const lines: string[] = [];
    const next = await startPrometheus({ targets: [], progress: (line) => lines.push(line) });
    try {
      assert.deepEqual(pids.filter(running), [], 'reaped');
      const reaped = lines.map((l) => new RegExp(`^reaped prometheus ${pids[0]} and (\\S+), left behind by test process ${owner.pid} \\(gone\\)$`).exec(l)?.[1]).find(Boolean);
      assert.ok(reaped, lines.join('\n'));
      assert.equal(existsSync(reaped), false, 'its folder (the TSDB) is gone');
    } finally {
      await next.stop();
    }
  });
});

describe('promtool', () => {
  it('runs with its arguments and reports the exit code', async () => {
    const { code, stdout } = await promtool(['--version']);
    assert.equal(code, 0);
    assert.match(stdout, /^promtool, version /);
  });
});
