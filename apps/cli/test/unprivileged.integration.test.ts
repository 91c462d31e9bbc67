import {
  ensureTestImagesAs,
  ensureTestUser,
  type TestImages,
  type TestUser,
} from '@polythene/test-images';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeWhenDone, runPolytheneAs, UUID_PATTERN } from './run-polythene.ts';

// CI runners are unprivileged with rootless podman: the same commands must work there.
let user: TestUser;
let images: TestImages;
let store: string;
let id: string;

beforeAll(async () => {
  user = await ensureTestUser();
  images = await ensureTestImagesAs(user);
  store = removeWhenDone(`/tmp/polythene-unprivileged-${process.pid}-${Date.now()}`);
  const run = await runPolytheneAs(['pull', images.busybox, '--store', store, '--quiet']);
  expect(run.exitCode, run.stderr).toBe(0);
  id = run.stdout.trim();
});

afterAll(async () => {
  if (id) await runPolytheneAs(['rm', id, '--store', store]);
});

describe('as an unprivileged user with rootless podman', () => {
  it('pulls into a private store owned by the user', async () => {
    expect(id).toMatch(UUID_PATTERN);
    const { stdout } = await execa('stat', ['-c', '%u %a', store]);
    expect(stdout).toBe(`${user.uid} 700`);
  });

  it('pulls from an archive too', async () => {
    const run = await runPolytheneAs(['pull', images.ociArchive, '--store', store, '--quiet']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect((await runPolytheneAs(['rm', run.stdout.trim(), '--store', store])).exitCode).toBe(0);
  });

  it('runs commands through bwrap in a user namespace, as mapped root', async () => {
    const run = await runPolytheneAs([
      'exec',
      id,
      '--store',
      store,
      '--json',
      '--',
      'sh',
      '-c',
      'id -u; touch /root/written',
    ]);
    expect(run.exitCode, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.backend).toBe('bwrap');
    expect(result.stdout).toBe('0\n');
    expect(result.guarantees).toContain('network');
  });

  it('runs through proot when asked, and says what it lost', async () => {
    const run = await runPolytheneAs([
      'exec',
      id,
      '--store',
      store,
      '--isolation',
      'proot',
      '--',
      'sh',
      '-c',
      'id -u',
    ]);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe('0');
    expect(run.stderr).toMatch(/^polythene: warning: proot runs without network/);
  });

  it('reports chroot as needing root', async () => {
    const run = await runPolytheneAs(['backends', '--json']);
    const chroot = (
      JSON.parse(run.stdout) as { name: string; available: boolean; reason?: string }[]
    ).find((backend) => backend.name === 'chroot');
    expect(chroot?.available).toBe(false);
    expect(chroot?.reason).toMatch(/root/);
  });

  it('removes what it pulled, read-only directories included', async () => {
    const pulled = await runPolytheneAs(['pull', images.busybox, '--store', store, '--quiet']);
    const other = pulled.stdout.trim();
    const lock = await runPolytheneAs([
      'exec',
      other,
      '--store',
      store,
      '--',
      'sh',
      '-c',
      'mkdir -p /ro/sub && touch /ro/sub/f && chmod 555 /ro/sub /ro',
    ]);
    expect(lock.exitCode, lock.stderr).toBe(0);
    const removed = await runPolytheneAs(['rm', other, '--store', store]);
    expect(removed.exitCode, removed.stderr).toBe(0);
  });
});
