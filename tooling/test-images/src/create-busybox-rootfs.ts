import { chmod, copyFile, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { isStaticElf } from './is-static-elf.ts';

/** Where the host's static busybox lives (Debian package `busybox-static`). */
export const hostBusyboxPath = '/bin/busybox';

const passwd = `root:x:0:0:root:/root:/bin/sh
app:x:1000:1000::/home/app:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
`;
const group = `root:x:0:
app:x:1000:
nogroup:x:65534:
`;

/**
 * Builds a plain-directory root filesystem from the host's static `/bin/busybox`:
 * `/bin/busybox` and every applet as a symlink (`/bin/*` relative `busybox`, `/sbin/*`
 * relative `../bin/busybox`, `/usr/bin/*` and `/usr/sbin/*` ABSOLUTE `/bin/busybox`, so
 * `/usr/bin/env` tests absolute-link resolution), `/etc/passwd` (root and
 * `app:x:1000:1000::/home/app:/bin/sh`), `/etc/group`, `/etc/hosts`, `/root`, `/home/app`,
 * `/tmp` (1777) and empty `/proc`, `/dev`, `/sys`. Works as non-root (files then belong to
 * the caller). `targetDir` must not exist or be empty.
 */
export async function createBusyboxRootfs(targetDir: string): Promise<void> {
  const busybox = await readHostBusybox();
  await mkdir(targetDir, { recursive: true });
  const existing = await readdir(targetDir);
  if (existing.length > 0) {
    throw new Error(
      `cannot create a busybox rootfs in ${targetDir}: it is not empty; pass a new or empty directory`,
    );
  }
  for (const dir of [
    'bin',
    'sbin',
    'usr/bin',
    'usr/sbin',
    'usr/local/bin',
    'etc',
    'home/app',
    'var',
    'run',
    'proc',
    'dev',
    'sys',
  ]) {
    await mkdir(join(targetDir, dir), { recursive: true, mode: 0o755 });
  }
  // Explicit chmod: mkdir's mode is filtered by the umask, and these modes are the point.
  await mkdir(join(targetDir, 'root'));
  await chmod(join(targetDir, 'root'), 0o700);
  await mkdir(join(targetDir, 'tmp'));
  await chmod(join(targetDir, 'tmp'), 0o1777);

  await writeFile(join(targetDir, 'bin/busybox'), busybox, { mode: 0o755 });
  await chmod(join(targetDir, 'bin/busybox'), 0o755);
  for (const applet of await listApplets()) {
    const target = appletLinkTarget(applet);
    if (target === undefined) continue;
    await mkdir(dirname(join(targetDir, applet)), { recursive: true });
    await symlink(target, join(targetDir, applet));
  }
  await writeFile(join(targetDir, 'etc/passwd'), passwd, { mode: 0o644 });
  await writeFile(join(targetDir, 'etc/group'), group, { mode: 0o644 });
  await writeFile(join(targetDir, 'etc/hosts'), '127.0.0.1 localhost\n::1 localhost\n', {
    mode: 0o644,
  });
  await writeFile(
    join(targetDir, 'etc/os-release'),
    'ID=polythene-test\nNAME="Polythene test busybox"\n',
    {
      mode: 0o644,
    },
  );
}

/** Copies the host busybox into `targetPath` (used where a rootfs needs just the binary). */
export async function copyHostBusybox(targetPath: string): Promise<void> {
  await readHostBusybox();
  await copyFile(hostBusyboxPath, targetPath);
}

/** The host busybox binary, checked to be static so it runs inside a rootfs without libc. */
export async function readHostBusybox(): Promise<Buffer> {
  let busybox: Buffer;
  try {
    busybox = await readFile(hostBusyboxPath);
  } catch (error) {
    throw new Error(
      `cannot read ${hostBusyboxPath}: install busybox-static (apt-get install busybox-static)`,
      {
        cause: error,
      },
    );
  }
  if (!isStaticElf(busybox)) {
    throw new Error(
      `${hostBusyboxPath} is dynamically linked and would not run inside a rootfs: install busybox-static instead of busybox`,
    );
  }
  return busybox;
}

async function listApplets(): Promise<string[]> {
  const { stdout } = await execa(hostBusyboxPath, ['--list-full'], {
    stdin: 'ignore',
  });
  const applets = stdout.split('\n').filter((line) => line !== '');
  // Some builds lack `sh` in the list (it is always compiled in as `ash`); the rootfs needs it.
  if (!applets.includes('bin/sh')) applets.push('bin/sh');
  return applets;
}

function appletLinkTarget(applet: string): string | undefined {
  if (applet === 'bin/busybox' || applet.includes('..') || applet.startsWith('/')) return undefined;
  if (/^bin\/[^/]+$/.test(applet)) return 'busybox';
  if (/^sbin\/[^/]+$/.test(applet)) return '../bin/busybox';
  if (/^usr\/s?bin\/[^/]+$/.test(applet)) return '/bin/busybox';
  // `linuxrc` and anything unexpected: not needed in a test rootfs.
  return undefined;
}
