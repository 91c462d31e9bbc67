import { chmod, chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { TestUser } from './fixture-types.ts';
import { testUserEnv, testUserRuntimeDir } from './test-user-env.ts';
import { withFileLock } from './with-file-lock.ts';

/** Login name of the unprivileged test account. */
export const testUserName = 'polythene-test';

const subordinateCount = 65536;
const subordinateMin = 100000;

// Rootless podman without systemd: cgroupfs instead of the systemd cgroup manager, and events
// in a file instead of journald, so import/pull/create/export/save run without warnings.
const containersConf = `# Written by @polythene/test-images.
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
`;

let pending: Promise<TestUser> | undefined;

/**
 * Creates (once; idempotent and safe across processes) the unprivileged account
 * `polythene-test` with a home dir, `/etc/subuid` and `/etc/subgid` ranges for rootless podman,
 * `~/.config/containers/containers.conf` (cgroupfs, file events) and an owned
 * `XDG_RUNTIME_DIR` (`/run/user/<uid>`). Only root can do this: throws otherwise.
 */
export function ensureTestUser(): Promise<TestUser> {
  pending ??= setUpTestUser().catch((error: unknown) => {
    pending = undefined;
    throw error;
  });
  return pending;
}

async function setUpTestUser(): Promise<TestUser> {
  if (process.getuid?.() !== 0) {
    throw new Error(
      `cannot create the test user ${testUserName}: only root can (running as uid ${process.getuid?.()}); run the tests as root or create it with \`sudo tsx tooling/test-images/src/cli.ts user\``,
    );
  }
  await mkdir('/run/lock', { recursive: true });
  return withFileLock('/run/lock/polythene-test-user.lock', async () => {
    let user = await lookUpUser(testUserName);
    if (user === undefined) {
      await execa(
        'useradd',
        [
          '--create-home',
          '--user-group',
          '--shell',
          '/bin/sh',
          '--comment',
          'Polythene tests',
          testUserName,
        ],
        { stdin: 'ignore' },
      );
      user = await lookUpUser(testUserName);
      if (user === undefined)
        throw new Error(`useradd ${testUserName} succeeded but the user does not exist`);
    }
    const addedRanges = await ensureSubordinateRanges(user);
    await ensureRuntimeDir(user);
    await ensureContainersConf(user);
    if (addedRanges) {
      // Storage set up before the ranges existed holds a single-uid mapping; migrate it.
      await execa('runuser', ['-u', user.name, '--', 'podman', 'system', 'migrate'], {
        env: testUserEnv(user),
        extendEnv: false,
        cwd: user.home,
        reject: false,
        stdin: 'ignore',
      });
    }
    return user;
  });
}

async function lookUpUser(name: string): Promise<TestUser | undefined> {
  const result = await execa('getent', ['passwd', name], {
    reject: false,
    stdin: 'ignore',
  });
  if (result.exitCode !== 0) return undefined;
  const fields = result.stdout.trim().split(':');
  return {
    name,
    uid: Number(fields[2]),
    gid: Number(fields[3]),
    home: fields[5] ?? `/home/${name}`,
  };
}

async function ensureSubordinateRanges(user: TestUser): Promise<boolean> {
  let added = false;
  for (const [file, flag] of [
    ['/etc/subuid', '--add-subuids'],
    ['/etc/subgid', '--add-subgids'],
  ] as const) {
    const lines = (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean);
    const owners = new Set([user.name, String(user.uid)]);
    if (lines.some((line) => owners.has(line.split(':')[0] ?? ''))) continue;
    // First free range after every existing one, so no two users share subordinate ids.
    const start = lines.reduce((max, line) => {
      const [, first, count] = line.split(':');
      return Math.max(max, Number(first) + Number(count));
    }, subordinateMin);
    await execa('usermod', [flag, `${start}-${start + subordinateCount - 1}`, user.name], {
      stdin: 'ignore',
    });
    added = true;
  }
  return added;
}

async function ensureRuntimeDir(user: TestUser): Promise<void> {
  const dir = testUserRuntimeDir(user);
  await mkdir(dir, { recursive: true });
  await chown(dir, user.uid, user.gid);
  await chmod(dir, 0o700);
}

async function ensureContainersConf(user: TestUser): Promise<void> {
  const configDir = join(user.home, '.config');
  const containersDir = join(configDir, 'containers');
  const confPath = join(containersDir, 'containers.conf');
  const current = await readFile(confPath, 'utf8').catch(() => undefined);
  if (current === containersConf) return;
  await mkdir(containersDir, { recursive: true });
  await writeFile(confPath, containersConf, { mode: 0o644 });
  for (const path of [configDir, containersDir, confPath]) await chown(path, user.uid, user.gid);
}
