import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPolytheneError } from '@polythene/errors';
import { afterAll, describe, expect, it } from 'vitest';
import { locateInRootfs } from './locate-in-rootfs.ts';

const rootfs = mkdtempSync(join(tmpdir(), 'polythene-resolve-'));
mkdirSync(join(rootfs, 'usr/lib'), { recursive: true });
symlinkSync('/usr/lib', join(rootfs, 'lib'));
symlinkSync('../../../../etc', join(rootfs, 'escape'));
symlinkSync('/', join(rootfs, 'usr/root'));
afterAll(() => rmSync(rootfs, { recursive: true, force: true }));

describe('locateInRootfs', () => {
  it('resolves plain paths', () => {
    expect(locateInRootfs(rootfs, '/usr/lib')).toEqual({
      hostPath: join(rootfs, 'usr/lib'),
      missing: [],
    });
  });

  it('starts absolute links again at the rootfs, not the host root', () => {
    expect(locateInRootfs(rootfs, '/lib/x')).toEqual({
      hostPath: join(rootfs, 'usr/lib'),
      missing: ['x'],
    });
    expect(locateInRootfs(rootfs, '/usr/root/usr')).toEqual({
      hostPath: join(rootfs, 'usr'),
      missing: [],
    });
  });

  it('never climbs above the rootfs with ..', () => {
    expect(locateInRootfs(rootfs, '/escape/passwd')).toEqual({
      hostPath: rootfs,
      missing: ['etc', 'passwd'],
    });
    expect(locateInRootfs(rootfs, '/../../etc')).toEqual({ hostPath: rootfs, missing: ['etc'] });
  });
});

describe('locateInRootfs on a symlink loop', () => {
  it('throws a PolytheneError (POLYTHENE_USAGE), like the store resolvers, not a plain Error', () => {
    symlinkSync('loop-b', join(rootfs, 'loop-a'));
    symlinkSync('loop-a', join(rootfs, 'loop-b'));
    let caught: unknown;
    try {
      locateInRootfs(rootfs, '/loop-a/mnt');
    } catch (error) {
      caught = error;
    }
    expect(isPolytheneError(caught)).toBe(true);
    expect(caught).toMatchObject({ code: 'POLYTHENE_USAGE' });
  });
});
