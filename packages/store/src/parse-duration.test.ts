import { describe, expect, it } from 'vitest';
import { parseDuration } from './parse-duration.ts';

describe('parseDuration', () => {
  it.each([
    ['7d', 7 * 86_400_000],
    ['12h', 12 * 3_600_000],
    ['30m', 30 * 60_000],
    ['45s', 45_000],
    ['500ms', 500],
    ['2w', 14 * 86_400_000],
    ['1h30m', 90 * 60_000],
    ['1.5h', 90 * 60_000],
    ['0s', 0],
  ])('%s is %d ms', (text, expected) => {
    expect(parseDuration(text)).toBe(expected);
  });

  it.each(['', '7', 'd', '7x', '-1d', ' 7d', '7d ', '1h 30m', '7D', 'abc', '1e3s'])(
    'refuses %j',
    (text) => {
      expect(() => parseDuration(text)).toThrow(
        expect.objectContaining({ code: 'POLYTHENE_USAGE' }),
      );
    },
  );
});
