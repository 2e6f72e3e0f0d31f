// SMI policies that cannot be applied: left out of the model (only the bad part), reported as problems.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { translate } from '../src/translate.ts';
import type { KubeObjects } from '../src/kube-types.ts';
import { bookstore, httpRouteGroup, tcpRoute, trafficSplit, trafficTarget } from './fixtures.ts';

type Mutable = { -readonly [K in keyof KubeObjects]: KubeObjects[K][number][] };
const objects = (change: (o: Mutable) => void): KubeObjects => {
  const o = bookstore() as unknown as Mutable;
  change(o);
  return o;
};
/** `kind namespace/name field reason` of each problem. */
const problemLines = (o: KubeObjects): string[] => translate(o).problems.map((p) => `${p.object.kind} ${p.object.namespace}/${p.object.name} ${p.field} ${p.reason}`);
const replace = <T extends { metadata: { name: string } }>(list: T[], name: string, next: T): void => {
  list[list.findIndex((x) => x.metadata.name === name)] = next;
};

describe('TrafficSplit apex', () => {
  for (const apex of ['bookstore', 'bookstore.bookstore', 'bookstore.bookstore.svc.cluster.local']) {
    it(`written ${apex} splits the bookstore service`, () => {
      const o = objects((x) => replace(x.trafficSplits, 'bookstore-split', trafficSplit('bookstore', 'bookstore-split', apex, [{ service: 'bookstore-v1', weight: 75 }, { service: 'bookstore-v2', weight: 25 }])));
      const t = translate(o);
      assert.equal(t.model.trafficSplits.get('bookstore/bookstore-split')?.apexService, 'bookstore');
      assert.deepEqual(t.problems, []);
      assert.deepEqual(t.model, translate(bookstore()).model, 'the same model as the plain name');
    });
  }

  it('the FQDN is read with the configured cluster domain', () => {
    const o = objects((x) => replace(x.trafficSplits, 'bookstore-split', trafficSplit('bookstore', 'bookstore-split', 'bookstore.bookstore.svc.corp.example', [{ service: 'bookstore-v1', weight: 1 }])));
    assert.equal(translate(o, { clusterDomain: 'corp.example' }).model.trafficSplits.get('bookstore/bookstore-split')?.apexService, 'bookstore');
    assert.equal(translate(o).model.trafficSplits.size, 0, 'not under cluster.local');
  });

  const bad: [string, string, string][] = [
    ['another namespace', 'bookstore.bookwarehouse', 'in namespace "bookwarehouse", but a TrafficSplit splits only services of its own namespace "bookstore"'],
    ['another namespace, FQDN', 'bookstore.bookwarehouse.svc.cluster.local', 'in namespace "bookwarehouse"'],
    ['a malformed name', 'bookstore.bookstore.svc', 'is not a service name; write <name>, <name>.bookstore or <name>.bookstore.svc.cluster.local'],
    ['an empty name part', '.bookstore', 'is not a service name'],
  ];
  for (const [title, apex, message] of bad) {
    it(`naming ${title} is reported on spec.service and not applied`, () => {
      const o = objects((x) => replace(x.trafficSplits, 'bookstore-split', trafficSplit('bookstore', 'bookstore-split', apex, [{ service: 'bookstore-v1', weight: 1 }])));
      const t = translate(o);
      assert.equal(t.model.trafficSplits.size, 0);
      assert.equal(t.problems.length, 1);
      const p = t.problems[0];
      assert.deepEqual(p?.object, { apiVersion: 'split.smi-spec.io/v1alpha2', kind: 'TrafficSplit', namespace: 'bookstore', name: 'bookstore-split' });
      assert.equal(p?.field, 'spec.service');
      assert.equal(p?.reason, 'InvalidApex');
      assert.ok(p?.message.includes(message), p?.message);
    });
  }

  it('reports missing apex and backends, bad weights and a second split on one apex', () => {
    const o = objects((x) => {
      x.trafficSplits.push(
        trafficSplit('bookstore', 'a-first', 'bookstore.bookstore', [{ service: 'bookstore-v2', weight: 1 }]),
        trafficSplit('bookstore', 'ghost', 'nothing-here', [{ service: 'gone', weight: 5 }, { service: 'bookstore-v1', weight: -1 }]),
        trafficSplit('bookstore', 'zero', 'bookstore-v1', [{ service: 'bookstore-v2', weight: 0 }]),
      );
    });
    assert.deepEqual(problemLines(o), [
      'TrafficSplit bookstore/bookstore-split spec.service DuplicateApex',
      'TrafficSplit bookstore/ghost spec.backends[0].service BackendNotFound',
      'TrafficSplit bookstore/ghost spec.backends[1].weight InvalidBackend',
      'TrafficSplit bookstore/ghost spec.service ApexNotFound',
      'TrafficSplit bookstore/zero spec.backends NoBackends',
    ]);
    const m = translate(o).model;
    assert.deepEqual([...m.trafficSplits.keys()], ['bookstore/a-first', 'bookstore/ghost'], 'the first split of an apex (by name) applies; one without a positive backend does not');
    assert.deepEqual(m.trafficSplits.get('bookstore/ghost')?.backends, [{ service: 'gone', weight: 5 }]);
  });
});

describe('TrafficTarget', () => {
  it('a rule naming an HTTPRouteGroup without matches grants nothing and is reported; a TCPRoute rule needs none', () => {
    const o = objects((x) =>
      replace(x.trafficTargets, 'bookbuyer-access-bookstore', trafficTarget('bookstore', 'bookbuyer-access-bookstore', 'bookstore', [{ ns: 'bookbuyer', sa: 'bookbuyer' }], [{ kind: 'HTTPRouteGroup', name: 'bookstore-service-routes' }])),
    );
    const t = translate(o);
    assert.deepEqual(t.model.trafficTargets.get('bookstore/bookbuyer-access-bookstore')?.rules, [{ kind: 'HTTPRouteGroup', name: 'bookstore-service-routes', matches: [] }]);
    assert.deepEqual(problemLines(o), ['TrafficTarget bookstore/bookbuyer-access-bookstore spec.rules[0].matches NoMatches']);
    assert.match(t.problems[0]?.message ?? '', /grants nothing/);
    // The mysql target names a TCPRoute without matches: no problem.
    assert.equal(t.model.trafficTargets.get('bookwarehouse/mysql')?.rules[0]?.kind, 'TCPRoute');
  });

  it("is not applied when OSM ignores it: destination outside its namespace, no rules, a rule of another kind; a bad source is dropped alone", () => {
    const o = objects((x) => {
      const foreign = trafficTarget('bookstore', 'foreign', 'bookstore', [{ ns: 'bookbuyer', sa: 'bookbuyer' }], [{ kind: 'TCPRoute', name: 'x' }]);
      x.trafficTargets.push(
        { ...foreign, spec: { ...foreign.spec, destination: { kind: 'ServiceAccount', name: 'bookwarehouse', namespace: 'bookwarehouse' } } },
        trafficTarget('bookstore', 'no-rules', 'bookstore', [{ ns: 'bookbuyer', sa: 'bookbuyer' }], []),
        trafficTarget('bookstore', 'odd-rule', 'bookstore', [{ ns: 'bookbuyer', sa: 'bookbuyer' }], [{ kind: 'UDPRoute', name: 'x' }]),
      );
      const tt = trafficTarget('bookstore', 'odd-source', 'bookstore', [{ ns: 'bookbuyer', sa: 'bookbuyer' }], [{ kind: 'HTTPRouteGroup', name: 'bookstore-service-routes', matches: ['buy-a-book', 'nope'] }]);
      x.trafficTargets.push({ ...tt, spec: { ...tt.spec, sources: [...(tt.spec?.sources ?? []), { kind: 'Group', name: 'admins' }] } });
    });
    assert.deepEqual(problemLines(o), [
      'TrafficTarget bookstore/foreign spec.destination.namespace InvalidDestinationNamespace',
      'TrafficTarget bookstore/no-rules spec.rules NoRules',
      'TrafficTarget bookstore/odd-rule spec.rules[0].kind InvalidRuleKind',
      'TrafficTarget bookstore/odd-source spec.rules[0].matches[1] MatchNotFound',
      'TrafficTarget bookstore/odd-source spec.sources[1].kind InvalidSubjectKind',
    ]);
    const m = translate(o).model;
    for (const gone of ['foreign', 'no-rules', 'odd-rule']) assert.equal(m.trafficTargets.has(`bookstore/${gone}`), false, gone);
    assert.deepEqual(m.trafficTargets.get('bookstore/odd-source')?.sources.map((s) => s.name), ['bookbuyer']);
  });

  it('a rule naming a route that does not exist is reported', () => {
    const o = objects((x) => x.trafficTargets.push(trafficTarget('bookstore', 't', 'bookstore', [{ ns: 'bookbuyer', sa: 'bookbuyer' }], [{ kind: 'TCPRoute', name: 'none' }, { kind: 'HTTPRouteGroup', name: 'none', matches: ['m'] }])));
    assert.deepEqual(problemLines(o), ['TrafficTarget bookstore/t spec.rules[0].name RouteNotFound', 'TrafficTarget bookstore/t spec.rules[1].name RouteNotFound']);
  });
});

/** `n` method names that share no prefix: AMETHODXYZ, BMETHODXYZ, ... */
const methodNames = (n: number): string[] => Array.from({ length: n }, (_, i) => `${String.fromCharCode(65 + i)}METHODXYZ`);

describe('HTTPRouteGroup matches that Envoy would reject', () => {
  it('methods whose :method regex is within the limit are kept', () => {
    const o = objects((x) => x.httpRouteGroups.push(httpRouteGroup('bookstore', 'many-methods', [{ name: 'm', methods: methodNames(9) }])));
    assert.deepEqual(translate(o).problems, []);
    assert.deepEqual(translate(o).model.httpRouteGroups.get('bookstore/many-methods')?.matches[0]?.methods, methodNames(9));
  });

  const table: [string, Parameters<typeof httpRouteGroup>[2][number], string, string][] = [
    ['a lookahead path', { name: 'bad', pathRegex: '/books(?=x)' }, 'spec.matches[2].pathRegex', 'InvalidPathRegex'],
    ['a backreference path', { name: 'bad', pathRegex: '/(a)\\1' }, 'spec.matches[2].pathRegex', 'InvalidPathRegex'],
    ['an oversized path program', { name: 'bad', pathRegex: `/${'a'.repeat(120)}` }, 'spec.matches[2].pathRegex', 'InvalidPathRegex'],
    ['a method with regex syntax', { name: 'bad', methods: ['GET|.*'] }, 'spec.matches[2].methods[0]', 'InvalidMethod'],
    // AMETHODXYZ|...|JMETHODXYZ: 104 in C++ RE2 (tools/re2-sizes/sizes.py); nine such names are 94
    ['methods whose :method regex is too large', { name: 'bad', methods: methodNames(10) }, 'spec.matches[2].methods', 'InvalidMethod'],
    ['a header value RE2 rejects', { name: 'bad', headers: { 'x-a': '(?<=a)b' } }, 'spec.matches[2].headers.x-a', 'InvalidHeaderMatch'],
    ['a header name that is not a token', { name: 'bad', headers: { 'x a': '1' } }, 'spec.matches[2].headers.x a', 'InvalidHeaderMatch'],
  ];
  for (const [title, match, field, reason] of table) {
    it(`${title}: only that match is dropped, and reported`, () => {
      const o = objects((x) =>
        replace(
          x.httpRouteGroups,
          'bookstore-service-routes',
          httpRouteGroup('bookstore', 'bookstore-service-routes', [
            { name: 'books-bought', pathRegex: '/books-bought', methods: ['GET'], headers: { 'user-agent': '.*-http-client/*.*' } },
            { name: 'buy-a-book', pathRegex: '.*a-book.*new', methods: ['GET'] },
            match,
          ]),
        ),
      );
      const lines = problemLines(o);
      assert.ok(lines.includes(`HTTPRouteGroup bookstore/bookstore-service-routes ${field} ${reason}`), lines.join('\n'));
      const t = translate(o);
      assert.deepEqual(t.model.httpRouteGroups.get('bookstore/bookstore-service-routes')?.matches.map((m) => m.name), ['books-bought', 'buy-a-book']);
      assert.deepEqual(t.model, translate(bookstore()).model, 'everything else is served as before');
    });
  }

  it('problems are sorted and the same whatever order the objects came in', () => {
    const o = objects((x) => {
      x.httpRouteGroups.push(httpRouteGroup('bookstore', 'z', [{ name: 'a', pathRegex: '(' }]), httpRouteGroup('bookbuyer', 'a', [{ name: 'b', methods: ['G T'] }]));
      x.tcpRoutes.push(tcpRoute('bookstore', 't', [0]));
    });
    const lines = problemLines(o);
    assert.deepEqual(lines, [
      'HTTPRouteGroup bookbuyer/a spec.matches[0].methods[0] InvalidMethod',
      'HTTPRouteGroup bookstore/z spec.matches[0].pathRegex InvalidPathRegex',
      'TCPRoute bookstore/t spec.matches.ports[0] InvalidPort',
    ]);
    const reversed = Object.fromEntries(Object.entries(o).map(([k, v]) => [k, [...(v as unknown[])].reverse()])) as unknown as KubeObjects;
    assert.deepEqual(translate(reversed).problems, translate(o).problems);
  });
});
