import { chmod, copyFile, mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTestImagesAs, ensureTestUser } from '@polythene/test-images';
import { beforeAll, describe, expect, it } from 'vitest';
import { removeWhenDone, runPolytheneAs } from './run-polythene.ts';

// sudo and runuser keep root's PATH, which may hold directories only root can search (a
// 0700 ~/.cargo/bin): each lookup skips them, as `which` does.
let store: string;
let id: string;
let privateDir: string;

beforeAll(async () => {
  const user = await ensureTestUser();
  const images = await ensureTestImagesAs(user);
  const dir = removeWhenDone(await mkdtemp(join(tmpdir(), 'polythene-private-path-')));
  privateDir = join(dir, 'bin');
  await mkdir(privateDir);
  for (const name of ['bwrap', 'proot', 'unshare', 'setpriv'])
    await copyFile('/usr/bin/true', join(privateDir, name));
  await chmod(privateDir, 0o700);
  await chmod(dir, 0o755);
  store = removeWhenDone(`/tmp/polythene-private-path-${process.pid}-${Date.now()}`);
  const pulled = await runPolytheneAs(['pull', images.busybox, '--store', store, '--quiet']);
  expect(pulled.exitCode, pulled.stderr).toBe(0);
  id = pulled.stdout.trim();
}, 300_000);

describe('a PATH directory the user cannot search', () => {
  it('is skipped: exec and backends run as if it were not there', async () => {
    const env = {
      PATH: `${privateDir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    };
    const exec = await runPolytheneAs(['exec', id, '--store', store, '--', 'echo', 'ran'], { env });
    expect(exec.stderr).not.toContain('EACCES');
    expect(exec.exitCode, exec.stderr).toBe(0);
    expect(exec.stdout.trim()).toBe('ran');
    const backends = await runPolytheneAs(['backends', '--json'], { env });
    expect(backends.exitCode, backends.stderr).toBe(0);
    expect(backends.stderr).not.toContain('EACCES');
  });
});
