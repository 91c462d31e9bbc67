import { describe, expect, it } from 'vitest';
import { matchesEntryFilters, matchesPattern, parseEntryFilters } from './entry-filters.ts';

describe('entry filters', () => {
  it('matches whole values, with * for any run of characters', () => {
    expect(matchesPattern('dev', 'dev')).toBe(true);
    expect(matchesPattern('dev', 'dev-try')).toBe(false);
    expect(matchesPattern('dev*', 'dev-try')).toBe(true);
    expect(matchesPattern('*try', 'dev-try')).toBe(true);
    expect(matchesPattern('d*-*y', 'dev-try')).toBe(true);
    expect(matchesPattern('d*x*y', 'dev-try')).toBe(false);
    expect(matchesPattern('ab*ba', 'aba')).toBe(false);
    expect(matchesPattern('*', '')).toBe(true);
  });

  it('ANDs different keys and ORs repeats of one key', () => {
    const filters = parseEntryFilters(['name=dev*', 'name=ci', 'image=*debian*']);
    expect(matchesEntryFilters(filters, { name: 'dev-try', image: 'docker.io/debian:12' })).toBe(
      true,
    );
    expect(matchesEntryFilters(filters, { name: 'ci', image: 'debian' })).toBe(true);
    expect(matchesEntryFilters(filters, { name: 'ci', image: 'busybox' })).toBe(false);
    expect(matchesEntryFilters(filters, { image: 'debian' })).toBe(false);
  });

  it('refuses an unknown key or a missing =', () => {
    expect(() => parseEntryFilters(['label=x'])).toThrow(/invalid filter "label=x"/);
    expect(() => parseEntryFilters(['name'])).toThrow(
      expect.objectContaining({ code: 'POLYTHENE_USAGE' }),
    );
  });
});
