import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseGoDuration } from './duration.ts';

describe('parseGoDuration', () => {
  const cases: [string, number | undefined][] = [
    ['24h', 86_400_000],
    ['1h30m', 5_400_000],
    ['90m', 5_400_000],
    ['90s', 90_000],
    ['1.5h', 5_400_000],
    ['300ms', 300],
    ['1500us', 1.5],
    ['-5s', -5_000],
    [' 10s ', 10_000],
    ['0', 0],
    ['', undefined],
    ['24', undefined],
    ['1d', undefined],
    ['h', undefined],
    ['abc', undefined],
    ['1h garbage', undefined],
  ];
  for (const [text, ms] of cases) it(JSON.stringify(text), () => assert.equal(parseGoDuration(text), ms));
});
