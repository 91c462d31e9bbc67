import { execFile } from 'node:child_process';
import {
  chmod,
  chown,
  mkdir,
  mkdtemp,
  readdir,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  ensureTestImages,
  ensureTestImagesAs,
  ensureTestUser,
  type TestUser,
} from '@polythene/test-images';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  freshStorePath,
  POLYTHENE_BIN,
  removeWhenDone,
  runPolythene,
  runPolytheneAs,
} from './run-polythene.ts';

// The code cache and the probe cache hold what polythene runs and trusts. Root running with a
// HOME or XDG_CACHE_HOME another user controls (sudo -E) must neither read, write nor delete
// there; and a run with fewer privileges must not leave answers an unrestricted run trusts.
let user: TestUser;
let store: string;
let id: string;

beforeAll(async () => {
  user = await ensureTestUser();
  const images = await ensureTestImages();
  store = await freshStorePath();
  const run = await runPolythene(['pull', images.busybox, '--store', store, '--quiet']);
  expect(run.exitCode, run.stderr).toBe(0);
  id = run.stdout.trim();
});

async function listTree(root: string): Promise<string[]> {
  return (await readdir(root, { recursive: true })).map(String).sort();
}

describe('as root', () => {
  it('neither reads, writes nor deletes in a cache directory another user owns', async () => {
    const home = removeWhenDone(await mkdtemp(join(tmpdir(), 'polythene-user-home-')));
    const codeCache = join(home, '.cache', 'polythene', 'code-cache');
    await mkdir(codeCache, { recursive: true });
    // Old enough that the code cache's clean-up would drop it.
    const planted = join(codeCache, 'planted.v8');
    await writeFile(planted, 'not a cache');
    const longAgo = new Date(Date.now() - 90 * 24 * 3600 * 1000);
    await utimes(planted, longAgo, longAgo);
    for (const path of [
      home,
      join(home, '.cache'),
      join(home, '.cache', 'polythene'),
      codeCache,
      planted,
    ])
      await chown(path, user.uid, user.gid);
    await chmod(home, 0o755);
    const before = await listTree(home);
    for (const env of [{ HOME: home }, { HOME: home, XDG_CACHE_HOME: join(home, '.cache') }]) {
      for (let attempt = 0; attempt < 2; attempt += 1) {
        const run = await runPolythene(['exec', id, '--store', store, '--', 'true'], { env });
        expect(run.exitCode, run.stderr).toBe(0);
      }
    }
    expect(await listTree(home)).toEqual(before);
  });

  it('does not let a run without CAP_SYS_ADMIN decide what an unrestricted run uses', async () => {
    const cacheHome = removeWhenDone(await mkdtemp(join(tmpdir(), 'polythene-cap-cache-')));
    const env: Record<string, string | undefined> = { ...process.env, XDG_CACHE_HOME: cacheHome };
    for (const key of Object.keys(env)) if (key.startsWith('POLYTHENE_')) delete env[key];
    const command = [process.execPath, POLYTHENE_BIN, 'exec', id, '--store', store, '--json'];
    // Under capsh the bounding set loses CAP_SYS_ADMIN: bwrap cannot make namespaces and its
    // probe fails. That answer must stay with the restricted run.
    const restricted = await promisify(execFile)(
      'capsh',
      ['--drop=cap_sys_admin', '--', '-c', `exec "$@"`, 'sh', ...command, '--', 'true'],
      { env },
    ).catch((error: { stdout: string }) => error);
    expect(JSON.parse(restricted.stdout).backend).not.toBe('bwrap');
    const unrestricted = await runPolythene(
      ['exec', id, '--store', store, '--json', '--', 'true'],
      {
        env: { XDG_CACHE_HOME: cacheHome },
      },
    );
    expect(unrestricted.exitCode, unrestricted.stderr).toBe(0);
    expect(JSON.parse(unrestricted.stdout).backend).toBe('bwrap');
  });
});

describe('as an unprivileged user', () => {
  it('writes no cache through a symlink in its cache path', async () => {
    await ensureTestImagesAs(user);
    const base = removeWhenDone(await mkdtemp(join(tmpdir(), 'polythene-user-cache-')));
    await chown(base, user.uid, user.gid);
    const real = join(base, 'real');
    await mkdir(real);
    await chown(real, user.uid, user.gid);
    await symlink(real, join(base, 'linked'));
    const run = await runPolytheneAs(['--version'], {
      env: { XDG_CACHE_HOME: join(base, 'linked') },
    });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(await readdir(real)).toEqual([]);
    // The same directory named without the symlink is used.
    await runPolytheneAs(['--version'], { env: { XDG_CACHE_HOME: real } });
    expect(await readdir(real)).toEqual(['polythene']);
  });
});
