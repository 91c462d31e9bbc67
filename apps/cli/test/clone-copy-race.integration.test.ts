import { execFileSync, spawnSync } from 'node:child_process';
import { chmod, lchown, mkdir, mkdtemp, readdir, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ensureTestImages,
  ensureTestImagesAs,
  ensureTestUser,
  testUserEnv,
} from '@polythene/test-images';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import {
  freshStorePath,
  POLYTHENE_BIN,
  removeWhenDone,
  runPolythene,
  runPolytheneAs,
  startPolythene,
} from './run-polythene.ts';

// `clone --method copy` of an entry a hostile command is running in: the command swaps a
// directory of the rootfs with a symlink to a host directory as fast as it can (renameat2
// RENAME_EXCHANGE, the testkit's static helper). No copy may ever hold a host file.
const SWAPPER_SOURCE = fileURLToPath(
  new URL('../../testkit/test/fixtures/hostile/swap-paths.c', import.meta.url),
);
const MARKER = 'marker';
const HOST_CONTENT = 'host secret';
const CLONES = 12;

interface World {
  readonly run: (args: readonly string[]) => ReturnType<typeof runPolythene>;
  readonly start: (args: readonly string[]) => { kill: () => void; done: Promise<void> };
  readonly image: string;
  readonly store: string;
  readonly uid: number;
}

type Layout = 'directory' | 'overlay';

// The rootfs gets the hostile helper, a directory, and a symlink to a host directory whose
// files have the same names (so a copy that follows the symlink meets no error and goes on).
// For an overlay entry (an overlay clone of the pulled one) they go into its upper layer,
// which the command changes while it runs: the copy then materialises the layers.
async function prepareEntry(world: World, hostDir: string, layout: Layout): Promise<string> {
  const pulled = await world.run(['pull', world.image, '--store', world.store, '--quiet']);
  expect(pulled.exitCode, pulled.stderr).toBe(0);
  let id = pulled.stdout.trim();
  if (layout === 'overlay') {
    const cloned = await world.run(['clone', id, '--store', world.store, '--method', 'overlay']);
    expect(cloned.exitCode, cloned.stderr).toBe(0);
    id = cloned.stdout.trim();
  }
  await mkdir(hostDir);
  await chmod(hostDir, 0o755);
  for (let index = 0; index < 50; index += 1)
    await writeFile(join(hostDir, `${MARKER}-${index}`), `${HOST_CONTENT}\n`, { mode: 0o644 });
  const rootfs = join(world.store, id);
  const binary = join(rootfs, 'swap-paths');
  execFileSync('gcc', ['-static', '-O2', '-o', binary, SWAPPER_SOURCE]);
  await chmod(binary, 0o755);
  await mkdir(join(rootfs, 'd'));
  for (let index = 0; index < 50; index += 1)
    await writeFile(join(rootfs, 'd', `${MARKER}-${index}`), 'box\n');
  await symlink(hostDir, join(rootfs, 'd.lnk'));
  for (const path of [binary, join(rootfs, 'd'), join(rootfs, 'd.lnk')])
    await lchown(path, world.uid, world.uid === 0 ? 0 : world.uid);
  for (let index = 0; index < 50; index += 1)
    await lchown(
      join(rootfs, 'd', `${MARKER}-${index}`),
      world.uid,
      world.uid === 0 ? 0 : world.uid,
    );
  return id;
}

// Files of the copy holding the host's content.
function findHostContent(root: string): string[] {
  // grep exits 1 when nothing matches: read its output, not its status.
  const { stdout } = spawnSync('grep', ['-rl', '--no-messages', HOST_CONTENT, root], {
    encoding: 'utf8',
  });
  return stdout.split('\n').filter(Boolean);
}

function describeCloneRace(name: string, makeWorld: () => Promise<World>): void {
  describe(`clone --method copy (${name})`, () => {
    it.each<Layout>(['directory', 'overlay'])(
      'never copies a host file through a symlink a running command swaps in (%s entry)',
      async (layout) => {
        const world = await makeWorld();
        const work = removeWhenDone(await mkdtemp(join(tmpdir(), 'polythene-clone-race-')));
        await chmod(work, 0o755);
        const hostDir = join(work, 'host');
        const id = await prepareEntry(world, hostDir, layout);
        const swapper = world.start([
          'exec',
          id,
          '--store',
          world.store,
          '--timeout',
          '300',
          '--',
          '/swap-paths',
          '/d',
          '/d.lnk',
          hostDir,
        ]);
        try {
          // Give the command time to start swapping.
          await new Promise((resolve) => setTimeout(resolve, 1000));
          let copied = 0;
          for (let round = 0; round < CLONES; round += 1) {
            const clone = await world.run([
              'clone',
              id,
              '--store',
              world.store,
              '--method',
              'copy',
            ]);
            if (clone.exitCode !== 0) {
              // Refusing to follow the swapped-in symlink may fail the copy; that is fine, as
              // long as it leaves nothing behind.
              expect(clone.stderr).toMatch(/^polythene: cannot copy a root filesystem/);
              continue;
            }
            const cloneId = clone.stdout.trim();
            expect(findHostContent(join(world.store, cloneId))).toEqual([]);
            expect((await world.run(['rm', cloneId, '--store', world.store])).exitCode).toBe(0);
            copied += 1;
          }
          // Copies that all failed would prove nothing.
          expect(copied).toBeGreaterThan(0);
        } finally {
          swapper.kill();
          await swapper.done;
        }
        expect((await readdir(hostDir)).length).toBe(50);
      },
    );
  });
}

describeCloneRace('root', async () => ({
  run: runPolythene,
  start: (args) => {
    const child = startPolythene(args, { timeoutMs: 300_000 });
    return { kill: () => child.kill('SIGTERM'), done: child.then(() => undefined) };
  },
  image: (await ensureTestImages()).busybox,
  store: await freshStorePath(),
  uid: 0,
}));

describeCloneRace('unprivileged user', async () => {
  const user = await ensureTestUser();
  const images = await ensureTestImagesAs(user);
  return {
    run: (args) => runPolytheneAs(args),
    start: (args) => {
      const child = execa(
        'runuser',
        ['-u', user.name, '--', process.execPath, POLYTHENE_BIN, ...args],
        {
          env: testUserEnv(user),
          extendEnv: false,
          cwd: user.home,
          reject: false,
          timeout: 300_000,
        },
      );
      return { kill: () => child.kill('SIGTERM'), done: child.then(() => undefined) };
    },
    image: images.busybox,
    store: removeWhenDone(`/tmp/polythene-clone-race-${process.pid}-${Date.now()}`),
    uid: user.uid,
  };
});
