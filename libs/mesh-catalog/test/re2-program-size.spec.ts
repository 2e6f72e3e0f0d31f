// RE2 program sizes as Envoy measures them. Every expected size below was printed by C++ RE2
// (PyPI google-re2 1.1.20251105: `re2.compile(p)._regexp.ProgramSize()`, tools/re2-sizes/sizes.py);
// the re2js/Go count of the first four is under 100, which is how they slipped through before.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RE2JS } from 're2js';
import { RegexSizeUnknownError, re2ProgramSize } from '../src/re2-program-size.ts';
import { MAX_REGEX_PROGRAM_SIZE, re2Problem } from '../src/policy.ts';

const EXACT: readonly (readonly [string, number])[] = [
  // found by review: accepted before, rejected by Envoy
  ['.{0,12}', 112],
  ['[^/]{1,20}', 183],
  ['/\\w{1,30}', 124],
  // literals, anchors (a literal after ^ is matched outside the program)
  ['a', 5],
  ['', 4],
  ['/books-bought', 17],
  ['/api/v1/users', 17],
  ['^/api/v1/users$', 4],
  ['^a$', 4],
  ['\\A/x\\z', 4],
  ['\\bfoo\\b', 9],
  ['€', 7],
  ['日本', 10],
  // alternations (RE2 factors common prefixes and merges single characters)
  ['/books|/authors', 17],
  ['/a|/b|/c', 6],
  ['abc|abd', 7],
  ['(GET|POST)', 13],
  ['/(?:a|b)/c', 8],
  // classes: negated and perl classes are UTF-8 byte-range tries
  ['[a-z]', 5],
  ['[^/]+', 13],
  ['[0-9]+', 6],
  ['\\w+', 8],
  ['\\s*', 7],
  ['[[:alpha:]]+', 6],
  ['(?s).', 11],
  ['/users/[0-9]+', 13],
  ['/users/[^/]+/orders', 27],
  ['.*', 12],
  ['/asdf/.*', 18],
  ['.*a-book.*new', 29],
  ['.*-http-client/*.*', 34],
  // case folding
  ['(?i)abc', 7],
  ['(?i)/books', 15],
  ['(?i)k', 8],
  // repeats, nested and coalesced
  ['\\d{3}', 7],
  ['x*', 5],
  ['(?:ab)*', 6],
  ['a*a+', 6],
  ['(a|b)*c', 8],
  ['((a|b)+c)?d', 13],
  ['(a(b(c)))', 13],
  // the boundary: 100 is accepted, 101 is not
  ['a'.repeat(96), 100],
  ['/' + 'a'.repeat(95), 100],
  ['a'.repeat(97), 101],
];

describe('re2ProgramSize', () => {
  for (const [pattern, size] of EXACT) {
    it(`${JSON.stringify(pattern)} is ${size}, as C++ RE2 counts`, () => assert.equal(re2ProgramSize(pattern), size));
  }

  it('re2js counts Go programs, which are far smaller than what Envoy checks', () => {
    assert.ok(RE2JS.compile('[^/]{1,20}').programSize() <= MAX_REGEX_PROGRAM_SIZE);
    assert.ok(re2ProgramSize('[^/]{1,20}') > MAX_REGEX_PROGRAM_SIZE);
  });

  it('refuses to guess the size of case-insensitive non-ASCII letters', () => {
    assert.throws(() => re2ProgramSize('(?i)é'), (err) => err instanceof RegexSizeUnknownError && err.code === 'RegexSizeUnknown');
    assert.equal(re2ProgramSize('(?i)€'), 7, 'a character without case folds to nothing');
  });

  // RE2 2025-11 counts \p{Zs} 18, \p{Latin} 82 and \p{L}+ 1201; this runtime's Unicode tables give
  // \p{Latin} 80, an under-count, so Unicode classes are never counted.
  it('refuses to guess the size of Unicode classes', () => {
    for (const pattern of ['\\p{Zs}', '\\p{Latin}', '\\PL', '[\\pN]']) {
      assert.throws(() => re2ProgramSize(pattern), (err) => err instanceof RegexSizeUnknownError && /Unicode class/.test(err.message), pattern);
    }
  });
});

describe('re2Problem', () => {
  for (const pattern of ['.{0,12}', '[^/]{1,20}', '/\\w{1,30}', 'a'.repeat(97)]) {
    it(`refuses ${JSON.stringify(pattern)} with its size`, () => {
      const why = re2Problem(pattern);
      assert.match(why ?? '', new RegExp(`RE2 program of size \\d+ .*Envoy allows at most ${MAX_REGEX_PROGRAM_SIZE}`));
    });
  }
  it('accepts a program of exactly the limit', () => assert.equal(re2Problem('a'.repeat(96)), undefined));
  it('refuses what it cannot measure, saying why', () => {
    assert.match(re2Problem('(?i)/café') ?? '', /case-insensitive matching of non-ASCII letters.*not computed/);
    assert.match(re2Problem('\\p{L}+') ?? '', /Unicode class.*not computed.*limit 100/);
  });
});
