import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exclusionsOf, parseCidr, parsePort } from './exclusions.ts';
import { defaultSidecarSettings } from './settings.ts';
import type { Pod } from './types.ts';

describe('parsePort', () => {
  const cases: [unknown, number | undefined][] = [[80, 80], [' 8080 ', 8080], ['65535', 65535], ['0', undefined], [65536, undefined], ['8o', undefined], ['', undefined], [1.5, undefined], ['-1', undefined]];
  for (const [input, expected] of cases) it(`${JSON.stringify(input)} -> ${expected}`, () => assert.equal(parsePort(input), expected));
});

describe('parseCidr', () => {
  const cases: [unknown, string | undefined][] = [
    ['10.0.0.0/8', '10.0.0.0/8'], [' 169.254.169.254/32 ', '169.254.169.254/32'], ['0.0.0.0/0', '0.0.0.0/0'],
    ['10.0.0.0', undefined], ['10.0.0.0/33', undefined], ['256.0.0.0/8', undefined], ['fd00::/8', undefined], ['10.0.0.0/8$(id)', undefined], [8, undefined],
  ];
  for (const [input, expected] of cases) it(`${JSON.stringify(input)} -> ${expected}`, () => assert.equal(parseCidr(input), expected));
});

describe('exclusionsOf', () => {
  const pod = (annotations: Record<string, string>): Pod => ({ metadata: { annotations }, spec: { containers: [] } });
  it('pod values first, then MeshConfig, each once', () => {
    const r = exclusionsOf(pod({ 'openservicemesh.io/outbound-port-exclusion-list': '80, 443', 'openservicemesh.io/outbound-ip-range-inclusion-list': '10.0.0.0/8' }), {
      ...defaultSidecarSettings,
      outboundPortExclusionList: [443, 25],
      outboundIPRangeInclusionList: ['10.0.0.0/8', '11.0.0.0/8'],
    });
    assert.ok(r.ok);
    assert.deepEqual(r.exclusions.outboundPorts, [80, 443, 25]);
    assert.deepEqual(r.exclusions.outboundIPRangeInclusions, ['10.0.0.0/8', '11.0.0.0/8']);
  });
  it('an empty or bad annotation value is an error naming the annotation', () => {
    const empty = exclusionsOf(pod({ 'openservicemesh.io/inbound-port-exclusion-list': '' }), defaultSidecarSettings);
    assert.deepEqual(empty, { ok: false, message: 'pod annotation openservicemesh.io/inbound-port-exclusion-list: "" is not valid: expected a comma-separated list of ports 1-65535' });
    const cidr = exclusionsOf(pod({ 'openservicemesh.io/outbound-ip-range-exclusion-list': '10.0.0.0/8,`reboot`' }), defaultSidecarSettings);
    assert.ok(!cidr.ok);
    assert.match(cidr.message, /outbound-ip-range-exclusion-list: "`reboot`" is not valid: expected a comma-separated list of IPv4 ranges/);
  });
});
