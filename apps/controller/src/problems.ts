// Objects the catalog could not apply are never dropped silently: each problem new in a batch is
// logged and recorded as a Warning Event on its object, and the gauge osm_policy_problems{kind,reason}
// holds how many there are now. Every replica reports the same problems (they come from the objects),
// and the Event recorder aggregates repeats.
import type { EventRecorder } from '@osm/k8s-writes';
import type { CatalogBatch, MeshProblem } from '@osm/mesh-catalog';
import type { Gauge, Logger } from '@osm/observability';

const keyOf = (p: MeshProblem): string => JSON.stringify([p.object.kind, p.object.namespace, p.object.name, p.object.uid ?? '', p.field, p.reason, p.message]);

export class ProblemReporter {
  readonly #log: Logger;
  readonly #events: EventRecorder;
  readonly #gauge: Gauge<'kind' | 'reason'>;
  #known = new Set<string>();
  #counted = new Set<string>();

  constructor(log: Logger, events: EventRecorder, gauge: Gauge<'kind' | 'reason'>) {
    this.#log = log;
    this.#events = events;
    this.#gauge = gauge;
  }

  onBatch(batch: CatalogBatch): void {
    const known = new Set<string>();
    const counts = new Map<string, { kind: string; reason: string; n: number }>();
    for (const p of batch.problems) {
      const key = keyOf(p);
      known.add(key);
      const c = `${p.object.kind}\n${p.reason}`;
      const entry = counts.get(c) ?? { kind: p.object.kind, reason: p.reason, n: 0 };
      entry.n++;
      counts.set(c, entry);
      if (this.#known.has(key)) continue;
      const { object } = p;
      this.#log.warn({ object: `${object.kind} ${object.namespace}/${object.name}`, field: p.field, reason: p.reason }, `${object.kind} ${object.namespace}/${object.name} cannot be applied: ${p.message}`);
      this.#events.record(object, 'Warning', p.reason, `${p.field}: ${p.message}`);
    }
    for (const { kind, reason, n } of counts.values()) this.#gauge.set(n, { kind, reason });
    for (const c of this.#counted) {
      if (counts.has(c)) continue;
      const [kind = '', reason = ''] = c.split('\n');
      this.#gauge.set(0, { kind, reason });
    }
    this.#known = known;
    this.#counted = new Set(counts.keys());
  }
}
