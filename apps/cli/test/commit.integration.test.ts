import { chmod, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ensureTestImages,
  ensureTestUser,
  type LoopbackRegistry,
  runAsTestUser,
  startLoopbackRegistry,
  type TestImages,
  writeRegistryAuthFile,
} from '@polythene/test-images';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshStorePath, removeWhenDone, runPolythene, runPolytheneAs } from './run-polythene.ts';

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

// Images the tests made: the pulls of the archives retag imageRef, which leaves the one
// `commit` imported under it without a name; removing the tag alone would leave it behind.
const madeImageIds: string[] = [];

afterAll(async () => {
  await execa('podman', ['rmi', '--force', '--ignore', imageRef, ...madeImageIds], {
    reject: false,
  });
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
    // A file capability and a user attribute survive the round trip too.
    await execa('setcap', ['cap_net_raw+ep', join(rootfs, 'srv', 'suid')]);
    await chmod(join(rootfs, 'srv', 'suid'), 0o4755);
    await execa('setfattr', [
      '-n',
      'user.polythene-test',
      '-v',
      'kept',
      join(rootfs, 'srv', 'locked'),
    ]);
    const attributes = async (tree: string) => {
      const caps = await execa('getcap', [join(tree, 'srv', 'suid')]);
      const user = await execa('getfattr', [
        '--only-values',
        '-n',
        'user.polythene-test',
        join(tree, 'srv', 'locked'),
      ]);
      return `${caps.stdout.slice(tree.length)} ${user.stdout}`;
    };
    expect(await attributes(rootfs)).toBe('/srv/suid cap_net_raw=ep kept');

    const committed = await runPolythene([
      'commit',
      'dev',
      imageRef,
      '--change',
      'ENV EXTRA="a b"',
      '--store',
      store,
    ]);
    expect(committed.exitCode, committed.stderr).toBe(0);
    expect(committed.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    madeImageIds.push(committed.stdout.trim());

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
    expect(await attributes(join(second, backId))).toBe(await attributes(rootfs));
    const original = JSON.parse(await readFile(join(store, `${id}.json`), 'utf8')).config;
    const config = JSON.parse(await readFile(join(second, `${backId}.json`), 'utf8')).config;
    const expected = { ...original, env: [...original.env, 'EXTRA=a b'] };
    expect(config).toEqual(expected);

    // --archive writes a file instead, with no podman at all: PATH holds tar alone.
    const bin = removeWhenDone(await mkdtemp(join(tmpdir(), 'polythene-commit-bin-')));
    await symlink('/usr/bin/tar', join(bin, 'tar'));
    for (const format of ['oci-archive', 'docker-archive']) {
      const archive = join(store, '..', `image.${format}.tar`);
      const written = await runPolythene(
        [
          'commit',
          'dev',
          imageRef,
          '--change',
          'ENV EXTRA="a b"',
          '--archive',
          `${format}:${archive}`,
          '--store',
          store,
        ],
        { env: { PATH: bin } },
      );
      expect(written.exitCode, written.stderr).toBe(0);
      expect(written.stdout).toMatch(/^[0-9a-f]{64}\n$/);
      madeImageIds.push(written.stdout.trim());
      const fromArchive = await runPolythene([
        'pull',
        `${format}:${archive}`,
        '--store',
        second,
        '--quiet',
      ]);
      expect(fromArchive.exitCode, fromArchive.stderr).toBe(0);
      const archivedId = fromArchive.stdout.trim();
      expect(await listTree(join(second, archivedId)), format).toBe(await listTree(rootfs));
      expect(await attributes(join(second, archivedId)), format).toBe(await attributes(rootfs));
      const archivedConfig = JSON.parse(
        await readFile(join(second, `${archivedId}.json`), 'utf8'),
      ).config;
      expect(archivedConfig, format).toEqual(expected);
    }
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

describe('polythene commit, shared through a registry', () => {
  let registry: LoopbackRegistry;
  beforeAll(async () => {
    registry = await startLoopbackRegistry({ requireAuth: true });
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('pushes a committed entry with auth, and the test user pulls it back with the same tree and config', async () => {
    await ensureTestUser();
    const store = await freshStorePath();
    const pulled = await runPolythene([
      'pull',
      '--name',
      'prep',
      images.configured,
      '--store',
      store,
      '--quiet',
    ]);
    expect(pulled.exitCode, pulled.stderr).toBe(0);
    const id = pulled.stdout.trim();
    // "Install a package": a new executable script, run later from the other store.
    const tool = join(store, id, 'usr', 'local', 'bin', 'prepared-tool');
    await execa('mkdir', ['-p', join(store, id, 'usr', 'local', 'bin')]);
    await writeFile(tool, '#!/bin/sh\necho prepared tool ran\n');
    await chmod(tool, 0o755);
    const pushedRef = `${registry.host}/polythene-test/prepared:${process.pid}`;
    const committed = await runPolythene(['commit', 'prep', pushedRef, '--store', store]);
    expect(committed.exitCode, committed.stderr).toBe(0);

    const login = await writeRegistryAuthFile(registry);
    removeWhenDone(login.dir);
    const env = login.env;
    const pushed = await execa('podman', ['push', '--quiet', pushedRef], { env, reject: false });
    expect(pushed.exitCode, pushed.stderr).toBe(0);
    await execa('podman', ['rmi', pushedRef], { reject: false });

    const userStore = removeWhenDone(`/tmp/polythene-commit-user-${process.pid}-${Date.now()}`);
    const back = await runPolytheneAs(['pull', pushedRef, '--store', userStore, '--quiet'], {
      env,
    });
    expect(back.exitCode, back.stderr).toBe(0);
    const backId = back.stdout.trim();
    // As seen by the unprivileged user: names, types, modes, sizes, mtimes, link targets.
    const modesOnly = (listing: string) =>
      listing
        .split('\n')
        .map((line) => line.replace(/ \d+:\d+ /, ' '))
        .join('\n');
    expect(modesOnly(await listTree(join(userStore, backId)))).toBe(
      modesOnly(await listTree(join(store, id))),
    );
    const original = JSON.parse(await readFile(join(store, `${id}.json`), 'utf8')).config;
    expect(JSON.parse(await readFile(join(userStore, `${backId}.json`), 'utf8')).config).toEqual(
      original,
    );
    const ran = await runPolytheneAs([
      'exec',
      backId,
      '--store',
      userStore,
      '--',
      '/usr/local/bin/prepared-tool',
    ]);
    expect(ran.exitCode, ran.stderr).toBe(0);
    // The test user's pull left the name in its own podman storage: not for ever.
    await runAsTestUser(['podman', 'rmi', '--ignore', pushedRef], { cwd: '/tmp', reject: false });
    expect(ran.stdout.trim()).toBe('prepared tool ran');
  });
});
