import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TYPE_URLS } from '@osm/xds-snapshot';
import { checkNackRules, compileNackRules, rejectFor, type NackRule } from './nack-rules.ts';
import type { DecodedResource } from './resources.ts';

const res = (typeUrl: string, name: string): DecodedResource => ({ typeUrl, name, refs: { routes: [], clusters: [], endpoints: [], secrets: [] } });
const clusters = [res(TYPE_URLS.clusters, 'bookstore/bookstore|14001'), res(TYPE_URLS.clusters, 'passthrough-outbound')];

describe('NACK rules', () => {
  const cases: { name: string; rules: NackRule[]; uuid: string; typeUrl: string; want: string | undefined }[] = [
    { name: 'no rules accept everything', rules: [], uuid: 'p1', typeUrl: TYPE_URLS.clusters, want: undefined },
    { name: 'an empty rule rejects everything, with the default detail', rules: [{}], uuid: 'p1', typeUrl: TYPE_URLS.clusters, want: 'rejected by a NACK rule' },
    { name: 'another proxy is not affected', rules: [{ proxies: ['p2'], detail: 'x' }], uuid: 'p1', typeUrl: TYPE_URLS.clusters, want: undefined },
    { name: 'the named proxy is', rules: [{ proxies: ['p2', 'p1'], detail: 'x' }], uuid: 'p1', typeUrl: TYPE_URLS.clusters, want: 'x' },
    { name: 'another type is not affected', rules: [{ typeUrl: TYPE_URLS.listeners }], uuid: 'p1', typeUrl: TYPE_URLS.clusters, want: undefined },
    { name: 'a name pattern must match some resource', rules: [{ resourceName: '^bookwarehouse/' }], uuid: 'p1', typeUrl: TYPE_URLS.clusters, want: undefined },
    { name: 'a matching name rejects', rules: [{ resourceName: '^bookstore/', detail: 'no bookstore' }], uuid: 'p1', typeUrl: TYPE_URLS.clusters, want: 'no bookstore' },
    { name: 'the first matching rule gives the detail', rules: [{ typeUrl: TYPE_URLS.routes, detail: 'a' }, { detail: 'b' }, { detail: 'c' }], uuid: 'p1', typeUrl: TYPE_URLS.clusters, want: 'b' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const compiled = compileNackRules(c.rules);
      assert.equal(rejectFor(c.uuid, () => compiled)(c.typeUrl, clusters), c.want);
    });
  }

  it('names the field of every invalid rule', () => {
    const check = checkNackRules([{ resourceName: '(' }, { typeUrl: 'Cluster' }, { proxies: 'p1' as unknown as string[] }]);
    assert.equal(check.valid, false);
    assert.deepEqual(
      !check.valid && check.errors.map((e) => e.split(' ')[0]),
      ['nackRules[0].resourceName', 'nackRules[1].typeUrl', 'nackRules[2].proxies'],
    );
    assert.deepEqual(checkNackRules([{ proxies: ['p1'], typeUrl: TYPE_URLS.clusters, resourceName: '.*', detail: 'd' }]), { valid: true });
  });
});
