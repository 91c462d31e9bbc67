import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveInRootfs } from './resolve-in-rootfs.ts';

let base: string;
let rootfs: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'polythene-resolve-'));
  rootfs = join(base, 'rootfs');
  await mkdir(join(rootfs, 'bin'), { recursive: true });
  await mkdir(join(rootfs, 'usr/bin'), { recursive: true });
  await mkdir(join(rootfs, 'etc'), { recursive: true });
  await writeFile(join(rootfs, 'bin/busybox'), '');
  await writeFile(join(rootfs, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\n');
  // A host file with the same relative name must never be the answer.
  await mkdir(join(base, 'etc'));
  await writeFile(join(base, 'etc/passwd'), 'host\n');
  await symlink('/bin/busybox', join(rootfs, 'usr/bin/env'));
  await symlink('../../bin/busybox', join(rootfs, 'usr/bin/sh'));
  await symlink('../../../../../../etc', join(rootfs, 'usr/escape'));
  await symlink('/', join(rootfs, 'usr/rootlink'));
  await symlink('usr/bin', join(rootfs, 'sbin'));
  await symlink('loop-b', join(rootfs, 'loop-a'));
  await symlink('loop-a', join(rootfs, 'loop-b'));
  await symlink('/missing/target', join(rootfs, 'dangling'));
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('resolveInRootfs', () => {
  it('re-roots an absolute symlink: /usr/bin/env -> /bin/busybox stays inside', async () => {
    expect(await resolveInRootfs(rootfs, '/usr/bin/env')).toBe(join(rootfs, 'bin/busybox'));
  });

  it('follows relative symlinks and directory symlinks', async () => {
    expect(await resolveInRootfs(rootfs, '/usr/bin/sh')).toBe(join(rootfs, 'bin/busybox'));
    expect(await resolveInRootfs(rootfs, '/sbin/env')).toBe(join(rootfs, 'bin/busybox'));
  });

  it('never climbs above the rootfs with ..', async () => {
    expect(await resolveInRootfs(rootfs, '../../../etc/passwd')).toBe(join(rootfs, 'etc/passwd'));
    expect(await resolveInRootfs(rootfs, '/usr/escape/passwd')).toBe(join(rootfs, 'etc/passwd'));
    expect(await resolveInRootfs(rootfs, '/usr/rootlink/../etc/passwd')).toBe(
      join(rootfs, 'etc/passwd'),
    );
    expect(await resolveInRootfs(rootfs, '/')).toBe(rootfs);
  });

  it('keeps the final symlink when asked not to follow it', async () => {
    expect(await resolveInRootfs(rootfs, '/usr/bin/env', { followFinalSymlink: false })).toBe(
      join(rootfs, 'usr/bin/env'),
    );
    // Intermediate links are still followed.
    expect(await resolveInRootfs(rootfs, '/sbin/env', { followFinalSymlink: false })).toBe(
      join(rootfs, 'usr/bin/env'),
    );
  });

  it('returns a path inside the rootfs for missing components and dangling links', async () => {
    expect(await resolveInRootfs(rootfs, '/nope/deeper/../file')).toBe(join(rootfs, 'nope/file'));
    expect(await resolveInRootfs(rootfs, '/dangling')).toBe(join(rootfs, 'missing/target'));
    expect(await resolveInRootfs(rootfs, '/etc/passwd/x')).toBe(join(rootfs, 'etc/passwd/x'));
  });

  it('reports a symlink loop as a PolytheneError', async () => {
    await expect(resolveInRootfs(rootfs, '/loop-a')).rejects.toMatchObject({
      code: 'POLYTHENE_USAGE',
      message: expect.stringContaining('too many levels of symbolic links'),
    });
    await expect(resolveInRootfs(rootfs, '/loop-a', { followFinalSymlink: false })).resolves.toBe(
      join(rootfs, 'loop-a'),
    );
  });
});
