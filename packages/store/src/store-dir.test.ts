import { describe, expect, it } from 'vitest';
import { DEFAULT_STORE_DIR, defaultStoreDir, resolveStoreDir } from './store-dir.ts';

describe('resolveStoreDir', () => {
  it('prefers the flag, then POLYTHENE_STORE, then the default', () => {
    expect(resolveStoreDir({ flag: '/a', env: { POLYTHENE_STORE: '/b' } })).toBe('/a');
    expect(resolveStoreDir({ env: { POLYTHENE_STORE: '/b' } })).toBe('/b');
    expect(resolveStoreDir({ env: {}, uid: 0 })).toBe(DEFAULT_STORE_DIR);
    expect(resolveStoreDir({ env: { POLYTHENE_STORE: '' }, uid: 0 })).toBe(DEFAULT_STORE_DIR);
  });

  it('gives root /var/tmp/polythene and every other user a store of their own', () => {
    expect(defaultStoreDir(0)).toBe('/var/tmp/polythene');
    expect(defaultStoreDir(1001)).toBe('/var/tmp/polythene-1001');
    expect(resolveStoreDir({ env: {}, uid: 1001 })).toBe('/var/tmp/polythene-1001');
    expect(resolveStoreDir({ env: {} })).toBe(defaultStoreDir(process.getuid?.()));
  });

  it('returns absolute paths, resolving relative ones against cwd', () => {
    expect(resolveStoreDir({ flag: 'store', cwd: '/srv' })).toBe('/srv/store');
    expect(resolveStoreDir({ env: { POLYTHENE_STORE: '../s/' }, cwd: '/srv/x' })).toBe('/srv/s');
    expect(resolveStoreDir({ flag: 'rel' })).toBe(`${process.cwd()}/rel`);
  });

  it('refuses an empty --store', () => {
    expect(() => resolveStoreDir({ flag: '' })).toThrow(
      expect.objectContaining({ code: 'POLYTHENE_USAGE' }),
    );
  });
});
