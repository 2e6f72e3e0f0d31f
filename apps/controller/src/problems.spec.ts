import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EventType, InvolvedObject } from '@osm/k8s-writes';
import type { CatalogBatch, MeshProblem } from '@osm/mesh-catalog';
import { meshModel } from '@osm/mesh-model';
import { createLogger } from '@osm/observability';
import { ProblemReporter } from './problems.ts';

const split = (name: string, reason = 'InvalidApex'): MeshProblem => ({
  object: { apiVersion: 'split.smi-spec.io/v1alpha2', kind: 'TrafficSplit', namespace: 'shop', name },
  field: 'spec.service',
  reason,
  message: `apex "other.ns" names another namespace; allowed: <name>, <name>.shop or the FQDN`,
});
const batch = (problems: MeshProblem[]): CatalogBatch => ({ sequence: 1, model: meshModel(), previous: undefined, identities: [], affectedProxies: [], allProxies: false, diff: undefined, changes: 1, problems });

describe('problem reporter', () => {
  it('logs and records each new problem once, and keeps the gauge at the current count', () => {
    const events: [InvolvedObject, EventType, string, string][] = [];
    const gauge: Record<string, number> = {};
    const logs: string[] = [];
    const reporter = new ProblemReporter(
      createLogger({ component: 'test', level: 'warn', destination: { write: (l: string) => void logs.push(l) } }),
      { record: (...e) => void events.push(e) },
      { set: (value, labels) => void (gauge[`${labels.kind}/${labels.reason}`] = value) },
    );
    reporter.onBatch(batch([split('a'), split('b')]));
    reporter.onBatch(batch([split('a'), split('b')]));
    assert.deepEqual(events.map(([o, type, reason]) => `${type} ${reason} ${o.name}`), ['Warning InvalidApex a', 'Warning InvalidApex b'], 'repeats are not recorded again');
    assert.match(events[0]?.[3] ?? '', /^spec\.service: apex/);
    assert.equal(logs.length, 2);
    assert.match(logs[0] ?? '', /TrafficSplit shop\/a cannot be applied/);
    assert.deepEqual(gauge, { 'TrafficSplit/InvalidApex': 2 });
    reporter.onBatch(batch([split('a', 'Other')]));
    assert.deepEqual(gauge, { 'TrafficSplit/InvalidApex': 0, 'TrafficSplit/Other': 1 }, 'a fixed problem counts 0');
    assert.equal(events.length, 3);
  });
});
