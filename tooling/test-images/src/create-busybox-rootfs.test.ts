import { lstat, mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBusyboxRootfs } from './create-busybox-rootfs.ts';

const hasBusybox = await lstat('/bin/busybox').then(
  () => true,
  () => false,
);

describe.skipIf(!hasBusybox)('createBusyboxRootfs (needs /bin/busybox from busybox-static)', () => {
  let workDir: string;
  let rootfs: string;

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'polythene-rootfs-test-'));
    rootfs = join(workDir, 'rootfs');
    await createBusyboxRootfs(rootfs);
  });
  afterAll(async () => {
    await rm(workDir, { recursive: true, force: true });
  });

  it('holds a runnable static busybox', async () => {
    const { stdout } = await execa(join(rootfs, 'bin/busybox'), ['echo', 'alive']);
    expect(stdout).toBe('alive');
  });

  it('links /bin/sh relatively and /usr/bin/env absolutely to busybox', async () => {
    expect(await readlink(join(rootfs, 'bin/sh'))).toBe('busybox');
    expect(await readlink(join(rootfs, 'usr/bin/env'))).toBe('/bin/busybox');
    expect(await readlink(join(rootfs, 'sbin/ifconfig'))).toBe('../bin/busybox');
  });

  it('has root and app in /etc/passwd and their groups', async () => {
    const passwd = await readFile(join(rootfs, 'etc/passwd'), 'utf8');
    expect(passwd).toContain('root:x:0:0:root:/root:/bin/sh\n');
    expect(passwd).toContain('app:x:1000:1000::/home/app:/bin/sh\n');
    expect(await readFile(join(rootfs, 'etc/group'), 'utf8')).toContain('app:x:1000:\n');
  });

  it('creates /tmp sticky and world-writable, /root private, and the empty mount points', async () => {
    expect((await lstat(join(rootfs, 'tmp'))).mode & 0o7777).toBe(0o1777);
    expect((await lstat(join(rootfs, 'root'))).mode & 0o7777).toBe(0o700);
    for (const dir of ['proc', 'dev', 'sys', 'home/app']) {
      expect((await lstat(join(rootfs, dir))).isDirectory()).toBe(true);
    }
  });

  it('refuses a non-empty target instead of mixing trees', async () => {
    const target = join(workDir, 'occupied');
    await createBusyboxRootfs(target);
    await writeFile(join(target, 'extra'), 'x');
    await expect(createBusyboxRootfs(target)).rejects.toThrow(/not empty/);
  });
});
