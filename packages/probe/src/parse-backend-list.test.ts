import { describe, expect, it } from 'vitest';
import { parseBackendList } from './parse-backend-list.ts';

describe('parseBackendList', () => {
  it('splits on commas and on the path delimiter, dropping blanks and repeats', () => {
    expect(parseBackendList('a, ./b.js:@scope/c,,a: /abs/d.mjs')).toEqual([
      'a',
      './b.js',
      '@scope/c',
      '/abs/d.mjs',
    ]);
  });

  it('is empty when unset or blank', () => {
    expect(parseBackendList(undefined)).toEqual([]);
    expect(parseBackendList(' , : ')).toEqual([]);
  });
});
