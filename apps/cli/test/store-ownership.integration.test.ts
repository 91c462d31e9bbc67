import { chmod, chown, mkdir, mkdtemp, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTestUser, type TestUser } from '@polythene/test-images';
import { beforeAll, describe, expect, it } from 'vitest';
import { removeWhenDone, runPolythene, runPolytheneAs } from './run-polythene.ts';

// A store is where root runs commands from: whoever else can change it, or rename it away
// and put another in its place, chooses what root runs. Such a store is refused (exit 1)
// with its owner and the fix named.
let user: TestUser;
let base: string;

beforeAll(async () => {
  user = await ensureTestUser();
  // Searchable by the test user, so it meets the ownership check, not a permission error.
  base = removeWhenDone(await mkdtemp(join(tmpdir(), 'polythene-ownership-')));
  await chmod(base, 0o755);
});

async function makeDir(path: string, mode: number, uid = 0, gid = 0): Promise<string> {
  await mkdir(path, { recursive: true });
  await chmod(path, mode);
  await chown(path, uid, gid);
  return path;
}

const SOME_ID = '01890a5d-ac96-774b-bcce-b302099a8057';

describe('as root', () => {
  it('refuses a store another user owns, naming the owner', async () => {
    const store = await makeDir(join(base, 'user-owned'), 0o700, user.uid, user.gid);
    const run = await runPolythene(['prune', '--store', store]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`owned by uid ${user.uid}, not you \\(uid 0\\)`));
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    // Exec and rm too: anything that runs or changes entries.
    const exec = await runPolythene(['exec', SOME_ID, '--store', store, '--', 'true']);
    expect(exec.exitCode).toBe(1);
    expect(exec.stderr).toContain(`owned by uid ${user.uid}`);
    expect((await runPolythene(['rm', SOME_ID, '--store', store])).stderr).toContain(
      `owned by uid ${user.uid}`,
    );
  });

  it('refuses a group-writable store', async () => {
    const store = await makeDir(join(base, 'group-writable'), 0o770);
    const run = await runPolythene(['prune', '--store', store]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('writable by other users (mode 0770)');
    expect(run.stderr).toContain(`chmod go-w ${store}`);
  });

  it('refuses a store below a symlink', async () => {
    const real = await makeDir(join(base, 'real-parent'), 0o755);
    await symlink(real, join(base, 'linked-parent'));
    const run = await runPolythene(['prune', '--store', join(base, 'linked-parent', 'store')]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(`${join(base, 'linked-parent')} is a symbolic link`);
  });

  it('refuses a store in a directory another user can rename it out of', async () => {
    const userParent = await makeDir(join(base, 'user-parent'), 0o755, user.uid, user.gid);
    const inUserParent = await runPolythene(['prune', '--store', join(userParent, 'store')]);
    expect(inUserParent.exitCode).toBe(1);
    expect(inUserParent.stderr).toContain(`its parent ${userParent} is owned by uid ${user.uid}`);
    const open = await makeDir(join(base, 'world-writable'), 0o777);
    const inOpen = await runPolythene(['prune', '--store', join(open, 'store')]);
    expect(inOpen.exitCode).toBe(1);
    expect(inOpen.stderr).toContain('without the sticky bit');
    // Sticky, like /tmp: others cannot rename what they do not own.
    const sticky = await makeDir(join(base, 'sticky'), 0o1777);
    const inSticky = await runPolythene(['prune', '--store', join(sticky, 'store')]);
    expect(inSticky.exitCode, inSticky.stderr).toBe(0);
  });

  it('defaults to /var/tmp/polythene', async () => {
    const run = await runPolythene(['inspect', SOME_ID]);
    expect(run.stderr).toMatch(/store \/var\/tmp\/polythene[ ;:)]/);
  });
});

describe('as an unprivileged user', () => {
  it("refuses root's store, and a store of its own that others can write", async () => {
    const rootStore = await makeDir(join(base, 'root-owned'), 0o755);
    const run = await runPolytheneAs(['prune', '--store', rootStore]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(`owned by uid 0, not you (uid ${user.uid})`);
    const shared = await makeDir(join(base, 'user-shared'), 0o777, user.uid, user.gid);
    const sharedRun = await runPolytheneAs(['prune', '--store', shared]);
    expect(sharedRun.exitCode).toBe(1);
    expect(sharedRun.stderr).toContain('writable by other users (mode 0777)');
  });

  it('refuses a store below a symlink', async () => {
    const real = await makeDir(join(base, 'user-real'), 0o755, user.uid, user.gid);
    await symlink(real, join(base, 'user-link'));
    const run = await runPolytheneAs(['prune', '--store', join(base, 'user-link', 'store')]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('is a symbolic link');
  });

  it('defaults to /var/tmp/polythene-<uid>, never the shared root store', async () => {
    const run = await runPolytheneAs(['inspect', SOME_ID]);
    expect(run.stderr).toContain(`store /var/tmp/polythene-${user.uid}`);
  });
});
