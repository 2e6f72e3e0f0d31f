// The protocol of one simulated proxy, without sockets: each case is a script of stream events and
// the requests the proxy must send in reply, written compactly (see `show`).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TYPE_URLS } from '@osm/xds-snapshot';
import type { References } from '@osm/xds-snapshot';
import { problemOf, type DecodedResource } from './resources.ts';
import { ProxySession, SessionCache, type AdsMode, type AdsResponse, type SessionOptions } from './session.ts';
import type { AdsRequest } from './wire.ts';

const SHORT: Record<string, string> = {
  [TYPE_URLS.clusters]: 'CDS',
  [TYPE_URLS.endpoints]: 'EDS',
  [TYPE_URLS.listeners]: 'LDS',
  [TYPE_URLS.routes]: 'RDS',
  [TYPE_URLS.secrets]: 'SDS',
};
const URL_OF: Record<string, string> = Object.fromEntries(Object.entries(SHORT).map(([url, short]) => [short, url]));

/** `CDS v=1 n=a [x,y] node` (SotW) or `EDS +[x] -[y] n=a {x:1} node` (delta), with ` NACK(13:detail)`. */
function show(r: AdsRequest): string {
  const parts = [SHORT[r.typeUrl] ?? r.typeUrl];
  if (r.kind === 'sotw') parts.push(`v=${r.versionInfo}`, `n=${r.responseNonce}`, `[${r.resourceNames.join(',')}]`);
  else {
    parts.push(`+[${r.subscribe.join(',')}]`, `-[${r.unsubscribe.join(',')}]`, `n=${r.responseNonce}`);
    if (r.initialVersions) parts.push(`{${[...r.initialVersions].map(([k, v]) => `${k}:${v}`).join(',')}}`);
  }
  if (r.node) parts.push('node');
  if (r.errorDetail) parts.push(`NACK(${r.errorDetail.code}:${r.errorDetail.message})`);
  return parts.join(' ');
}

const NONE: References = { routes: [], clusters: [], endpoints: [], secrets: [] };
const res = (type: string, name: string, refs: Partial<References> = {}, error?: string): DecodedResource => ({
  typeUrl: URL_OF[type] ?? type,
  name,
  refs: { ...NONE, ...refs },
  ...(error ? { error } : {}),
});
/** An EDS cluster with an mTLS transport socket: it needs its load assignment and two secrets. */
const cluster = (name: string): DecodedResource => res('CDS', name, { endpoints: [name], secrets: ['cert', `root:${name}`] });
const staticCluster = (name: string): DecodedResource => res('CDS', name);
const listener = (name: string, routes: string[], secrets: string[] = []): DecodedResource => res('LDS', name, { routes, secrets });
const eds = (name: string) => res('EDS', name);
const sds = (name: string) => res('SDS', name);
const rds = (name: string) => res('RDS', name);

type Event =
  | { readonly open: true }
  | { readonly timeout: true }
  | { readonly sotw: string; readonly v: string; readonly n: string; readonly r: readonly DecodedResource[]; readonly cp?: string }
  | { readonly delta: string; readonly sv?: string; readonly n: string; readonly r: readonly [string, DecodedResource][]; readonly removed?: readonly string[] };

interface Step {
  readonly on: Event;
  readonly send: readonly string[];
  readonly outcome?: 'ack' | 'nack' | 'ignored';
}

function response(e: Event): AdsResponse | undefined {
  if ('sotw' in e) {
    const typeUrl = URL_OF[e.sotw] as string;
    return { kind: 'sotw', typeUrl, versionInfo: e.v, nonce: e.n, controlPlane: e.cp ?? '', resources: { resources: e.r, problem: problemOf(typeUrl, e.r) } };
  }
  if ('delta' in e) {
    const typeUrl = URL_OF[e.delta] as string;
    return {
      kind: 'delta',
      typeUrl,
      systemVersionInfo: e.sv ?? '',
      nonce: e.n,
      controlPlane: '',
      resources: e.r.map(([version, resource]) => ({ name: resource.name, version, resource })),
      removed: e.removed ?? [],
    };
  }
  return undefined;
}

function run(mode: AdsMode, steps: readonly Step[], options: Partial<SessionOptions> = {}): ProxySession {
  const session = new ProxySession({ mode, cache: new SessionCache(), ...options });
  steps.forEach((step, i) => {
    const e = step.on;
    let sent: AdsRequest[];
    if ('open' in e) sent = session.open();
    else if ('timeout' in e) sent = session.warmTimeout();
    else {
      const received = session.receive(response(e) as AdsResponse, i);
      if (step.outcome) assert.equal(received.outcome, step.outcome, `step ${i}`);
      sent = received.requests;
    }
    assert.deepEqual(sent.map(show), step.send, `step ${i}: ${JSON.stringify(e, (_k, v: unknown) => (typeof v === 'object' && v && 'refs' in v ? (v as DecodedResource).name : v))}`);
  });
  return session;
}

const open = { open: true } as const;

// The initial exchange of a proxy with one EDS cluster (mTLS) and one HTTP listener, up to fully ACKed.
const bootSotw: Step[] = [
  { on: open, send: ['CDS v= n= [] node'] },
  { on: { sotw: 'CDS', v: 'c1', n: '1', r: [cluster('a'), staticCluster('passthrough')] }, send: ['EDS v= n= [a]', 'SDS v= n= [cert,root:a]', 'CDS v=c1 n=1 []'], outcome: 'ack' },
  { on: { sotw: 'EDS', v: 'e1', n: '2', r: [eds('a')] }, send: ['EDS v=e1 n=2 [a]'] },
  { on: { sotw: 'SDS', v: 's1', n: '3', r: [sds('cert'), sds('root:a')] }, send: ['LDS v= n= []', 'SDS v=s1 n=3 [cert,root:a]'] },
  { on: { sotw: 'LDS', v: 'l1', n: '4', r: [listener('out', ['rds-out'], ['cert', 'root:in'])] }, send: ['SDS v=s1 n=3 [cert,root:a,root:in]', 'RDS v= n= [rds-out]', 'LDS v=l1 n=4 []'] },
  { on: { sotw: 'RDS', v: 'r1', n: '5', r: [rds('rds-out')] }, send: ['RDS v=r1 n=5 [rds-out]'] },
  { on: { sotw: 'SDS', v: 's2', n: '6', r: [sds('cert'), sds('root:a'), sds('root:in')] }, send: ['SDS v=s2 n=6 [cert,root:a,root:in]'] },
];

describe('ProxySession, state of the world', () => {
  const cases: { name: string; steps: Step[]; options?: Partial<SessionOptions> }[] = [
    { name: 'boots as Envoy does: CDS, then EDS and SDS, LDS only once the clusters are warm, then RDS', steps: bootSotw },
    {
      name: 'LDS waits for every EDS and cluster SDS name, not merely for a response',
      steps: [
        { on: open, send: ['CDS v= n= [] node'] },
        { on: { sotw: 'CDS', v: 'c1', n: '1', r: [cluster('a'), cluster('b')] }, send: ['EDS v= n= [a,b]', 'SDS v= n= [cert,root:a,root:b]', 'CDS v=c1 n=1 []'] },
        { on: { sotw: 'SDS', v: 's1', n: '2', r: [sds('cert'), sds('root:a'), sds('root:b')] }, send: ['SDS v=s1 n=2 [cert,root:a,root:b]'] },
        { on: { sotw: 'EDS', v: 'e1', n: '3', r: [eds('a')] }, send: ['EDS v=e1 n=3 [a,b]'] },
        // An EDS response that leaves `a` out does not remove it (SotW absence is not removal for EDS).
        { on: { sotw: 'EDS', v: 'e2', n: '4', r: [eds('b')] }, send: ['LDS v= n= []', 'EDS v=e2 n=4 [a,b]'] },
      ],
    },
    {
      name: 'a cluster with no EDS and no TLS lets LDS start with the CDS ACK',
      steps: [
        { on: open, send: ['CDS v= n= [] node'] },
        { on: { sotw: 'CDS', v: 'c1', n: '1', r: [staticCluster('passthrough')] }, send: ['LDS v= n= []', 'CDS v=c1 n=1 []'] },
      ],
    },
    {
      name: 'the initial fetch timeout starts LDS while a cluster still waits',
      steps: [
        { on: open, send: ['CDS v= n= [] node'] },
        { on: { sotw: 'CDS', v: 'c1', n: '1', r: [cluster('a')] }, send: ['EDS v= n= [a]', 'SDS v= n= [cert,root:a]', 'CDS v=c1 n=1 []'] },
        { on: { timeout: true }, send: ['LDS v= n= []'] },
        { on: { timeout: true }, send: [] },
      ],
    },
    {
      name: 'an undecodable resource is NACKed with the last good version, the new nonce and code 13; the config stays',
      steps: [
        ...bootSotw,
        { on: { sotw: 'CDS', v: 'c2', n: '7', r: [cluster('a'), res('CDS', 'b', {}, 'cannot decode: bad wire type')] }, send: ['CDS v=c1 n=7 [] NACK(13:cannot decode: bad wire type)'], outcome: 'nack' },
        // The next good version is ACKed; nothing else was re-subscribed because the config did not change.
        { on: { sotw: 'CDS', v: 'c3', n: '8', r: [cluster('a'), staticCluster('passthrough')] }, send: ['CDS v=c3 n=8 []'], outcome: 'ack' },
      ],
    },
    {
      name: 'duplicate names, a foreign resource type or a nameless resource are NACKed',
      steps: [
        { on: open, send: ['CDS v= n= [] node'] },
        { on: { sotw: 'CDS', v: 'c1', n: '1', r: [staticCluster('x'), staticCluster('x')] }, send: ["CDS v= n=1 [] NACK(13:duplicate resource name 'x' in " + TYPE_URLS.clusters + ')'] },
        { on: { sotw: 'CDS', v: 'c1', n: '2', r: [res('LDS', 'x')] }, send: [`CDS v= n=2 [] NACK(13:resource type ${TYPE_URLS.listeners} does not match response type ${TYPE_URLS.clusters})`] },
        { on: { sotw: 'CDS', v: 'c1', n: '3', r: [staticCluster('')] }, send: [`CDS v= n=3 [] NACK(13:a resource of type ${TYPE_URLS.clusters} has no name)`] },
      ],
    },
    {
      name: 'a reject rule NACKs with its detail',
      options: { reject: (typeUrl, resources) => (typeUrl === TYPE_URLS.routes && resources.some((r) => r.name === 'rds-out') ? 'route rejected' : undefined) },
      steps: [
        ...bootSotw.slice(0, 5),
        { on: { sotw: 'RDS', v: 'r1', n: '5', r: [rds('rds-out')] }, send: ['RDS v= n=5 [rds-out] NACK(13:route rejected)'], outcome: 'nack' },
      ],
    },
    {
      name: 'names follow a CDS change: EDS and SDS re-sent with their last version and nonce before the CDS ACK',
      steps: [
        ...bootSotw,
        { on: { sotw: 'CDS', v: 'c2', n: '7', r: [cluster('b'), staticCluster('passthrough')] }, send: ['EDS v=e1 n=2 [b]', 'SDS v=s2 n=6 [cert,root:b,root:in]', 'CDS v=c2 n=7 []'] },
        { on: { sotw: 'EDS', v: 'e2', n: '8', r: [eds('b')] }, send: ['EDS v=e2 n=8 [b]'] },
        // Every cluster gone: EDS is unsubscribed with an empty list (Envoy keeps the type on the stream).
        { on: { sotw: 'CDS', v: 'c3', n: '9', r: [staticCluster('passthrough')] }, send: ['EDS v=e2 n=8 []', 'SDS v=s2 n=6 [cert,root:in]', 'CDS v=c3 n=9 []'] },
      ],
    },
    {
      name: 'a new stream re-sends every type in subscription order with the versions held, no nonce, the node once',
      steps: [
        ...bootSotw,
        { on: open, send: ['CDS v=c1 n= [] node', 'EDS v=e1 n= [a]', 'SDS v=s2 n= [cert,root:a,root:in]', 'LDS v=l1 n= []', 'RDS v=r1 n= [rds-out]'] },
        { on: { sotw: 'CDS', v: 'c1', n: 'x', r: [cluster('a'), staticCluster('passthrough')] }, send: ['CDS v=c1 n=x []'] },
      ],
    },
    {
      name: 'a reconnect while clusters warm re-sends what is subscribed, still without LDS',
      steps: [
        { on: open, send: ['CDS v= n= [] node'] },
        { on: { sotw: 'CDS', v: 'c1', n: '1', r: [cluster('a')] }, send: ['EDS v= n= [a]', 'SDS v= n= [cert,root:a]', 'CDS v=c1 n=1 []'] },
        { on: open, send: ['CDS v=c1 n= [] node', 'EDS v= n= [a]', 'SDS v= n= [cert,root:a]'] },
      ],
    },
    {
      name: 'a response of a type not subscribed is ignored',
      steps: [
        { on: open, send: ['CDS v= n= [] node'] },
        { on: { sotw: 'RDS', v: 'r1', n: '1', r: [rds('x')] }, send: [], outcome: 'ignored' },
      ],
    },
    {
      name: 'with set_node_on_first_message_only off, every request carries the node',
      options: { nodeOnFirstMessageOnly: false },
      steps: [
        { on: open, send: ['CDS v= n= [] node'] },
        { on: { sotw: 'CDS', v: 'c1', n: '1', r: [cluster('a')] }, send: ['EDS v= n= [a] node', 'SDS v= n= [cert,root:a] node', 'CDS v=c1 n=1 [] node'] },
      ],
    },
  ];
  for (const c of cases) it(c.name, () => void run('sotw', c.steps, c.options));

  it('keeps the last good config after a NACK and counts it', () => {
    const session = run('sotw', [
      ...bootSotw,
      { on: { sotw: 'CDS', v: 'c2', n: '7', r: [cluster('z')], cp: 'replica-2' }, send: ['EDS v=e1 n=2 [z]', 'SDS v=s2 n=6 [cert,root:in,root:z]', 'CDS v=c2 n=7 []'] },
      { on: { sotw: 'EDS', v: 'e2', n: '8', r: [res('EDS', 'z', {}, 'cannot decode')] }, send: ['EDS v=e1 n=8 [z] NACK(13:cannot decode)'] },
    ]);
    const edsState = session.type(TYPE_URLS.endpoints);
    assert.equal(edsState?.version, 'e1');
    assert.equal(edsState?.nonce, '8');
    assert.equal(edsState?.nacks, 1);
    assert.equal(edsState?.lastNack, 'cannot decode');
    // `a` is no longer subscribed, `z` was rejected: nothing is held.
    assert.deepEqual(edsState?.held, []);
    assert.equal(edsState?.ackedAt, 2);
    assert.equal(edsState?.responseAt, 8);
    assert.equal(session.replica, 'replica-2');
  });
});

describe('ProxySession, incremental (delta)', () => {
  const bootDelta: Step[] = [
    { on: open, send: ['CDS +[] -[] n= node'] },
    { on: { delta: 'CDS', sv: 'c1', n: '1', r: [['1', cluster('a')], ['1', cluster('b')]] }, send: ['EDS +[a,b] -[] n=', 'SDS +[cert,root:a,root:b] -[] n=', 'CDS +[] -[] n=1'] },
    { on: { delta: 'EDS', n: '2', r: [['1', eds('a')], ['1', eds('b')]] }, send: ['EDS +[] -[] n=2'] },
    { on: { delta: 'SDS', n: '3', r: [['1', sds('cert')], ['1', sds('root:a')], ['1', sds('root:b')]] }, send: ['LDS +[] -[] n=', 'SDS +[] -[] n=3'] },
  ];
  const cases: { name: string; steps: Step[] }[] = [
    { name: 'boots with subscriptions as diffs and ACKs that carry only the nonce', steps: bootDelta },
    {
      name: 'a removed cluster unsubscribes its EDS and SDS names',
      steps: [
        ...bootDelta,
        { on: { delta: 'CDS', sv: 'c2', n: '4', r: [], removed: ['b'] }, send: ['EDS +[] -[b] n=', 'SDS +[] -[root:b] n=', 'CDS +[] -[] n=4'] },
      ],
    },
    {
      name: 'a new stream sends the held versions as initial_resource_versions',
      steps: [
        ...bootDelta,
        { on: { delta: 'CDS', sv: 'c2', n: '4', r: [['2', cluster('a')]] }, send: ['CDS +[] -[] n=4'] },
        { on: open, send: ['CDS +[] -[] n= {a:2,b:1} node', 'EDS +[a,b] -[] n= {a:1,b:1}', 'SDS +[cert,root:a,root:b] -[] n= {cert:1,root:a:1,root:b:1}', 'LDS +[] -[] n='] },
      ],
    },
    {
      name: 'a NACK carries the nonce and the detail and applies nothing',
      steps: [
        ...bootDelta,
        { on: { delta: 'CDS', sv: 'c2', n: '4', r: [['2', res('CDS', 'c', {}, 'bad')]], removed: ['a'] }, send: ['CDS +[] -[] n=4 NACK(13:bad)'], outcome: 'nack' },
        { on: open, send: ['CDS +[] -[] n= {a:1,b:1} node', 'EDS +[a,b] -[] n= {a:1,b:1}', 'SDS +[cert,root:a,root:b] -[] n= {cert:1,root:a:1,root:b:1}', 'LDS +[] -[] n='] },
      ],
    },
  ];
  for (const c of cases) it(c.name, () => void run('delta', c.steps));

  it('reports the system version of the last accepted response', () => {
    const session = run('delta', bootDelta);
    assert.equal(session.type(TYPE_URLS.clusters)?.version, 'c1');
    assert.deepEqual([...(session.type(TYPE_URLS.clusters)?.heldVersions ?? [])], [['a', '1'], ['b', '1']]);
  });
});

describe('SessionCache', () => {
  it('interns name lists so that equal lists are one array', () => {
    const cache = new SessionCache();
    const a = cache.refs([cluster('x'), cluster('y')], 'endpoints');
    const b = cache.refs([cluster('y'), cluster('x')], 'endpoints');
    assert.equal(a, b);
    assert.deepEqual(a, ['x', 'y']);
    assert.equal(cache.union(a, cache.names.intern(['y', 'z'])), cache.names.intern(['z', 'x', 'y']));
  });
});
