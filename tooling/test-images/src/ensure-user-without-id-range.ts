import { mkdir } from 'node:fs/promises';
import { execa } from 'execa';
import type { TestUser } from './fixture-types.ts';
import { testUserEnv } from './test-user-env.ts';
import { withFileLock } from './with-file-lock.ts';

/** Login name of the second unprivileged test account, the one without subordinate ids. */
export const userWithoutIdRangeName = 'polythene-norange';

let pending: Promise<TestUser> | undefined;

async function lookUp(): Promise<TestUser | undefined> {
  const result = await execa('getent', ['passwd', userWithoutIdRangeName], {
    reject: false,
    stdin: 'ignore',
  });
  if (result.exitCode !== 0) return undefined;
  const fields = result.stdout.trim().split(':');
  return {
    name: userWithoutIdRangeName,
    uid: Number(fields[2]),
    gid: Number(fields[3]),
    home: fields[5] ?? '',
  };
}

async function setUp(): Promise<TestUser> {
  if (process.getuid?.() !== 0) throw new Error(`only root can create ${userWithoutIdRangeName}`);
  await mkdir('/run/lock', { recursive: true });
  return withFileLock('/run/lock/polythene-norange-user.lock', async () => {
    if ((await lookUp()) === undefined) {
      // SUB_*_COUNT=0: useradd gives a new user no subordinate range (Debian's default is
      // 65536), which is the world this user stands for.
      await execa(
        'useradd',
        [
          '--create-home',
          '--user-group',
          '--shell',
          '/bin/sh',
          '-K',
          'SUB_UID_COUNT=0',
          '-K',
          'SUB_GID_COUNT=0',
          userWithoutIdRangeName,
        ],
        { stdin: 'ignore' },
      );
    }
    // Whatever made the account, it must hold no range.
    await execa(
      'usermod',
      ['--del-subuids', '0-4294967294', '--del-subgids', '0-4294967294', userWithoutIdRangeName],
      {
        stdin: 'ignore',
        reject: false,
      },
    );
    const user = await lookUp();
    if (user === undefined)
      throw new Error(`useradd ${userWithoutIdRangeName} succeeded but the user does not exist`);
    return user;
  });
}

/**
 * Creates (once; safe across processes) `polythene-norange`: an unprivileged account with a
 * home directory and no `/etc/subuid` or `/etc/subgid` range, for the world where a box can
 * map only the user's own id. Root only.
 */
export function ensureUserWithoutIdRange(): Promise<TestUser> {
  pending ??= setUp().catch((error: unknown) => {
    pending = undefined;
    throw error;
  });
  return pending;
}

/** Runs `argv` as {@link ensureUserWithoutIdRange}'s user, with a clean environment. */
export async function runAsUserWithoutIdRange(
  argv: readonly string[],
  env: Record<string, string> = {},
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const user = await ensureUserWithoutIdRange();
  const { XDG_RUNTIME_DIR: _unused, ...base } = testUserEnv(user);
  const result = await execa('runuser', ['-u', user.name, '--', ...argv], {
    env: { ...base, ...env },
    extendEnv: false,
    cwd: user.home,
    stdin: 'ignore',
    reject: false,
  });
  return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
}
