import { execFileSync, spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureTestImages } from '@polythene/test-images';
import { beforeAll, describe, expect, it } from 'vitest';
import { freshStorePath, removeWhenDone, runPolythene, startPolythene } from './run-polythene.ts';

// `clone --method copy` of an entry a hostile command is running in: the command swaps a
// directory of the rootfs with a symlink to a host directory as fast as it can (renameat2
// RENAME_EXCHANGE, the testkit's static helper). No copy may ever hold a host file.
const SWAPPER_SOURCE = fileURLToPath(
  new URL('../../testkit/test/fixtures/hostile/swap-paths.c', import.meta.url),
);
const MARKER = 'marker';
const HOST_CONTENT = 'host secret';
const CLONES = 12;

let store: string;
let id: string;
let hostDir: string;

beforeAll(async () => {
  const images = await ensureTestImages();
  store = await freshStorePath();
  const run = await runPolythene(['pull', images.busybox, '--store', store, '--quiet']);
  expect(run.exitCode, run.stderr).toBe(0);
  id = run.stdout.trim();
  const work = removeWhenDone(await mkdtemp(join(tmpdir(), 'polythene-clone-race-')));
  hostDir = join(work, 'host');
  await mkdir(hostDir);
  for (let index = 0; index < 50; index += 1)
    await writeFile(join(hostDir, `${MARKER}-${index}`), `${HOST_CONTENT}\n`);
  const rootfs = join(store, id);
  execFileSync('gcc', ['-static', '-O2', '-o', join(rootfs, 'swap-paths'), SWAPPER_SOURCE]);
  await mkdir(join(rootfs, 'd'));
  for (let index = 0; index < 50; index += 1)
    await writeFile(join(rootfs, 'd', `${MARKER}-${index}`), 'box\n');
  await symlink(hostDir, join(rootfs, 'd.lnk'));
  await chmod(join(rootfs, 'swap-paths'), 0o755);
});

// Files of the copy holding the host's content. The box's directory has the same names as
// the host's, so a copy that follows the swapped-in symlink meets no error and goes on.
function findHostContent(root: string): string[] {
  // grep exits 1 when nothing matches: read its output, not its status.
  const { stdout } = spawnSync('grep', ['-rl', '--no-messages', HOST_CONTENT, root], {
    encoding: 'utf8',
  });
  return stdout.split('\n').filter(Boolean);
}

describe('clone --method copy', () => {
  it('never copies a host file through a symlink a running command swaps in', async () => {
    const swapper = startPolythene(
      [
        'exec',
        id,
        '--store',
        store,
        '--timeout',
        '300',
        '--',
        '/swap-paths',
        '/d',
        '/d.lnk',
        hostDir,
      ],
      { timeoutMs: 300_000 },
    );
    try {
      // Give the command time to start swapping.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      for (let round = 0; round < CLONES; round += 1) {
        const clone = await runPolythene(['clone', id, '--store', store, '--method', 'copy']);
        if (clone.exitCode !== 0) {
          // Refusing to follow the swapped-in symlink may fail the copy; that is fine, as
          // long as it leaves nothing behind.
          expect(clone.stderr).toMatch(/^polythene: cannot copy a root filesystem/);
          continue;
        }
        const cloneId = clone.stdout.trim();
        expect(findHostContent(join(store, cloneId))).toEqual([]);
        expect((await runPolythene(['rm', cloneId, '--store', store])).exitCode).toBe(0);
      }
    } finally {
      swapper.kill('SIGTERM');
      await swapper;
    }
    expect((await readdir(hostDir)).length).toBe(50);
  });
});
