import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parse } from 'yaml';
import { yamlText } from './yaml-text.ts';

describe('yamlText', () => {
  it('writes block YAML: plain keys, quoted strings, nested maps and lists, empty ones inline', () => {
    const text = yamlText({ node: { id: 'u-1', cluster: 'a.b' }, '@type': 'x', on: 1, list: [{ a: 1, b: [true, null] }, 'two', [], {}, [3, [4]]], empty: {}, skipped: undefined });
    assert.equal(
      text,
      [
        'node:',
        '  id: "u-1"',
        '  cluster: "a.b"',
        '"@type": "x"',
        '"on": 1',
        'list:',
        '  - a: 1',
        '    b:',
        '      - true',
        '      - null',
        '  - "two"',
        '  - []',
        '  - {}',
        '  - - 3',
        '    - - 4',
        'empty: {}',
        '',
      ].join('\n'),
    );
  });

  it('keeps strings strings whatever they look like', () => {
    const tricky = ['yes', 'no', 'on', 'off', 'y', 'null', '~', '', '1e3', '0x10', '010', '- a', 'a: b', '#c', '"q"', "'s'", 'line\nbreak', '\ttab', ' lead', 'trail ', '\u2028', 'é', '{}', '[a]', '&anchor', '*alias', '!tag', '%d', '@at', '`tick'];
    const doc = Object.fromEntries(tricky.map((s, i) => [s === '' ? 'empty' : s, [s, { [s]: i }]]));
    assert.deepEqual(parse(yamlText(doc)), doc);
    assert.deepEqual(parse(yamlText(doc), { version: '1.1' }), doc, 'a YAML 1.1 parser reads the same');
  });

  it('any JSON value reads back the same (fuzz)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        assert.equal(JSON.stringify(parse(yamlText(value), { version: '1.1' })), JSON.stringify(value));
        assert.equal(JSON.stringify(parse(yamlText(value))), JSON.stringify(value));
      }),
      { numRuns: 2000, seed: 7 },
    );
  });
});
