import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureTestImages, type TestImages } from '@polythene/test-images';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshStorePath, runPolythene } from './run-polythene.ts';

let images: TestImages;
const imageRef = `localhost/polythene-commit-test/entry-${process.pid}-${Date.now()}:latest`;

// The tree as `find` sees it, mtimes to the second (image layers keep no more).
async function listTree(rootfs: string): Promise<string> {
  const { stdout } = await execa('find', ['.', '-printf', '%p %M %U:%G %s %TY%Tm%Td%TH%TM %l\\n'], {
    cwd: rootfs,
  });
  return stdout
    .split('\n')
    .filter((line) => !line.startsWith('. '))
    .sort()
    .join('\n');
}

beforeAll(async () => {
  images = await ensureTestImages();
});

afterAll(async () => {
  await execa('podman', ['rmi', '--force', imageRef], { reject: false });
});

describe('polythene commit', () => {
  it('writes the tree and config as an image that pulls back identical', async () => {
    const store = await freshStorePath();
    const pulled = await runPolythene([
      'pull',
      '--name',
      'dev',
      images.configured,
      '--store',
      store,
      '--quiet',
    ]);
    expect(pulled.exitCode, pulled.stderr).toBe(0);
    const id = pulled.stdout.trim();
    const rootfs = join(store, id);
    await writeFile(join(rootfs, 'srv', 'suid'), '#!/bin/sh\n');
    await chmod(join(rootfs, 'srv', 'suid'), 0o4755);
    await execa('mkdir', ['-m', '0700', join(rootfs, 'srv', 'locked')]);
    await writeFile(join(rootfs, 'srv', 'locked', 'f'), 'x');
    await execa('chown', ['-R', '42:43', join(rootfs, 'srv', 'locked')]);

    const archive = join(store, '..', 'image.oci.tar');
    const committed = await runPolythene([
      'commit',
      'dev',
      imageRef,
      '--change',
      'ENV EXTRA="a b"',
      '--archive',
      `oci-archive:${archive}`,
      '--store',
      store,
    ]);
    expect(committed.exitCode, committed.stderr).toBe(0);
    expect(committed.stdout).toMatch(/^[0-9a-f]{64}\n$/);

    const second = await freshStorePath();
    const back = await runPolythene([
      'pull',
      '--pull',
      'never',
      imageRef,
      '--store',
      second,
      '--quiet',
    ]);
    expect(back.exitCode, back.stderr).toBe(0);
    const backId = back.stdout.trim();
    expect(await listTree(join(second, backId))).toBe(await listTree(rootfs));
    const original = JSON.parse(await readFile(join(store, `${id}.json`), 'utf8')).config;
    const config = JSON.parse(await readFile(join(second, `${backId}.json`), 'utf8')).config;
    expect(config).toEqual({ ...original, env: [...original.env, 'EXTRA=a b'] });
    // The archive holds the same image.
    const fromArchive = await runPolythene([
      'pull',
      `oci-archive:${archive}`,
      '--store',
      second,
      '--quiet',
    ]);
    expect(fromArchive.exitCode, fromArchive.stderr).toBe(0);
    expect(await listTree(join(second, fromArchive.stdout.trim()))).toBe(await listTree(rootfs));
  });

  it('refuses a transport instead of a reference with exit 2', async () => {
    const store = await freshStorePath();
    const pulled = await runPolythene(['pull', images.busybox, '--store', store, '--quiet']);
    const run = await runPolythene([
      'commit',
      pulled.stdout.trim(),
      'oci-archive:/tmp/x.tar',
      '--store',
      store,
    ]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/^polythene: commit writes into podman's storage/);
  });
});
