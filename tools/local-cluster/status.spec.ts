import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ProxyStatus, TypeStatus } from '@osm/testing';
import { TYPE_URLS } from '@osm/xds-snapshot';
import { acked, expiresIn, renderStatus, type StatusInput } from './status.ts';

const type = (version: string, extra: Partial<TypeStatus> = {}): TypeStatus => ({
  version, nonce: '1', names: [], subscribed: [], responses: 1, nacks: 0, lastNack: '', ackedAt: 10, responseAt: 10, ...extra,
});

/** A proxy holding clusters and listeners `v`, endpoints/routes/secrets only when given. */
function proxy(uuid: string, server: string, v = 'v1', types: Record<string, TypeStatus> = {}, extra: Partial<ProxyStatus> = {}): ProxyStatus {
  return {
    uuid, process: 0, connected: true, server, replica: '', connects: 1, attempts: 1, lastError: '', nacks: 0, lastAckAt: 10, lastResponseAt: 10,
    types: { [TYPE_URLS.clusters]: type(v), [TYPE_URLS.listeners]: type(v), ...types },
    ...extra,
  };
}

const replicas = [
  { name: 'r0', pid: 100, exit: undefined, ads: '127.0.0.1:1', admin: 'http://127.0.0.1:2' },
  { name: 'r1', pid: 101, exit: 'SIGKILL', ads: '127.0.0.1:3', admin: 'http://127.0.0.1:4' },
];
const now = new Date('2026-01-01T00:00:00Z');
const input = (proxies: ProxyStatus[], identities: Record<string, string>): StatusInput => ({
  replicas, components: [{ name: 'injector', pid: 7, exit: undefined }, { name: 'ca-bootstrap', pid: 8, exit: 'exit 1' }], proxies, identityOf: new Map(Object.entries(identities)), now,
  root: { fingerprint: 'AA:BB', notAfter: new Date('2036-01-01T12:00:00Z') },
  serviceCertNotAfter: new Map([['a', new Date('2026-01-01T23:30:00Z')]]),
});

describe('acked', () => {
  const cases: [string, ProxyStatus, boolean][] = [
    ['clusters and listeners only (a proxy allowed to reach nothing)', proxy('a', 's'), true],
    ['endpoints subscribed and held', proxy('a', 's', 'v1', { [TYPE_URLS.endpoints]: type('e1', { subscribed: ['x'] }) }), true],
    ['endpoints subscribed, none received yet', proxy('a', 's', 'v1', { [TYPE_URLS.endpoints]: type('', { subscribed: ['x'], responses: 0, ackedAt: undefined, responseAt: undefined }) }), false],
    ['last response NACKed (received after the last ACK)', proxy('a', 's', 'v1', { [TYPE_URLS.routes]: type('r1', { subscribed: ['x'], ackedAt: 10, responseAt: 20, nacks: 1 }) }), false],
    ['no listeners yet', { ...proxy('a', 's'), types: { [TYPE_URLS.clusters]: type('v1') } }, false],
    ['disconnected', proxy('a', 's', 'v1', {}, { connected: false }), false],
  ];
  for (const [name, p, want] of cases) it(name, () => assert.equal(acked(p), want));
});

describe('renderStatus', () => {
  it('counts proxies by the address they are connected to, and converges when each identity holds one config', () => {
    // b's last response came from r1 (before it died), but it is connected to r0 now: it counts for r0.
    const status = renderStatus(input([proxy('a', '127.0.0.1:1'), proxy('b', '127.0.0.1:1', 'v1', {}, { replica: 'r1' })], { a: 'ns/sa', b: 'ns/sa' }));
    assert.equal(status.converged, true);
    assert.match(status.lines[0] ?? '', /^replica r0\s+pid 100\s+up\s+proxies 2\s/);
    assert.match(status.lines[1] ?? '', /^replica r1\s+pid 101\s+down \(SIGKILL\)\s+proxies 0\s/);
    assert.equal(status.lines[2], 'injector pid 7 up · ca-bootstrap pid 8 down (exit 1)');
    assert.match(status.lines[4] ?? '', /^ns\/sa\s+2\s+2\/2\s+0\s+[0-9a-f]{7}\s+in 23h\s+r0:2$/);
    assert.match(status.lines.at(-2) ?? '', /^proxies 2: 2 connected, 2 ACKed, 0 NACKs; config converged$/);
    assert.match(status.lines.at(-1) ?? '', /^root CA expires 2036-01-01 \(in 3652d\)/);
  });

  it('is converging while proxies of one identity hold different configs or one is not ACKed', () => {
    const differ = renderStatus(input([proxy('a', '127.0.0.1:1', 'v1'), proxy('b', '127.0.0.1:1', 'v2')], { a: 'ns/sa', b: 'ns/sa' }));
    assert.equal(differ.converged, false);
    assert.match(differ.lines[4] ?? '', /^ns\/sa\s+2\s+2\/2\s+0\s+2 diff\s/);
    const waiting = renderStatus(input([proxy('a', '127.0.0.1:1'), proxy('b', '127.0.0.1:1', 'v1', {}, { connected: false })], { a: 'ns/sa', b: 'ns/sa' }));
    assert.equal(waiting.converged, false);
    assert.match(waiting.lines.at(-2) ?? '', /^proxies 2: 1 connected, 1 ACKed, 0 NACKs; config converging$/);
  });

  it('prints the same text for the same situation (printed on change only when not a terminal)', () => {
    const a = renderStatus(input([proxy('a', '127.0.0.1:1')], { a: 'ns/sa' }));
    const b = renderStatus({ ...input([proxy('a', '127.0.0.1:1')], { a: 'ns/sa' }), now: new Date(now.getTime() + 59_000) });
    assert.deepEqual(a.lines, b.lines);
  });
});

describe('expiresIn', () => {
  const cases: [number, string][] = [[-1, 'EXPIRED'], [59 * 60_000, 'in 59m'], [23.5 * 3_600_000, 'in 23h'], [49 * 3_600_000, 'in 2d']];
  for (const [ms, want] of cases) it(`${ms} ms -> ${want}`, () => assert.equal(expiresIn(new Date(now.getTime() + ms), now), want));
});
