import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPolytheneError } from '@polythene/errors';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveChrootPathSync } from './resolve-chroot-path-sync.ts';
import { MAX_SYMLINKS } from './walk-chroot-path.ts';

const rootfs = mkdtempSync(join(tmpdir(), 'polythene-chroot-path-'));
mkdirSync(join(rootfs, 'usr/lib'), { recursive: true });
writeFileSync(join(rootfs, 'usr/file'), 'x');
symlinkSync('/usr/lib', join(rootfs, 'lib'));
symlinkSync('../../../../etc', join(rootfs, 'escape'));
symlinkSync('loop-b', join(rootfs, 'loop-a'));
symlinkSync('loop-a', join(rootfs, 'loop-b'));
// A chain of exactly MAX_SYMLINKS links resolves; one more is a loop to the kernel.
for (let i = 0; i < MAX_SYMLINKS; i += 1) symlinkSync(`chain${i + 1}`, join(rootfs, `chain${i}`));
mkdirSync(join(rootfs, `chain${MAX_SYMLINKS}`));
afterAll(() => rmSync(rootfs, { recursive: true, force: true }));

describe('resolveChrootPathSync', () => {
  it('follows absolute links inside the root and reports the missing tail', () => {
    const found = resolveChrootPathSync(rootfs, '/lib/x/y');
    expect(found.hostPath).toBe(join(rootfs, 'usr/lib/x/y'));
    expect(found.existingHostPath).toBe(join(rootfs, 'usr/lib'));
    expect(found.missing).toEqual(['x', 'y']);
  });

  it('never climbs above the root', () => {
    expect(resolveChrootPathSync(rootfs, '/escape/passwd').hostPath).toBe(
      join(rootfs, 'etc/passwd'),
    );
    expect(resolveChrootPathSync(rootfs, '../../..').hostPath).toBe(rootfs);
  });

  it('treats a path below a regular file as missing', () => {
    expect(resolveChrootPathSync(rootfs, '/usr/file/x').missing).toEqual(['x']);
  });

  it('keeps a final link when asked to resolve like lstat', () => {
    expect(resolveChrootPathSync(rootfs, '/lib', { followFinalSymlink: false }).hostPath).toBe(
      join(rootfs, 'lib'),
    );
  });

  it('follows up to MAX_SYMLINKS links, the kernel limit', () => {
    expect(resolveChrootPathSync(rootfs, '/chain0').hostPath).toBe(
      join(rootfs, `chain${MAX_SYMLINKS}`),
    );
  });

  it('throws a PolytheneError naming the path on a symlink loop', () => {
    let caught: unknown;
    try {
      resolveChrootPathSync(rootfs, '/loop-a/x', { describe: '"/loop-a/x" in the test' });
    } catch (error) {
      caught = error;
    }
    expect(isPolytheneError(caught)).toBe(true);
    expect(caught).toMatchObject({ code: 'POLYTHENE_USAGE' });
    expect((caught as Error).message).toMatch(
      /^cannot resolve "\/loop-a\/x" in the test: too many levels of symbolic links/,
    );
  });
});
