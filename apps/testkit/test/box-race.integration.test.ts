import { execFileSync } from 'node:child_process';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canRunOverlayHere } from '@polythene/cli';
import {
  ensureTestImages,
  ensureTestImagesAs,
  ensureTestUser,
  runAsTestUser,
} from '@polythene/test-images';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoxMethod } from '../src/index.ts';
import { type BoxRaceResult, runBoxRace } from './box-race-run.ts';

// A hostile command swaps paths of the box between real directories/files and symlinks to a
// host directory (renameat2 RENAME_EXCHANGE in a loop, a static helper built here), while the
// test reads and writes through the box's file methods: none may ever touch the host directory.
// As root in this process, and as the unprivileged test user through box-race-run.ts.
const SWAPPER_SOURCE = fileURLToPath(new URL('./fixtures/hostile/swap-paths.c', import.meta.url));
const RUNNER = fileURLToPath(new URL('./box-race-run.ts', import.meta.url));
const TSX = fileURLToPath(new URL('../../../node_modules/.bin/tsx', import.meta.url));
let work: string;
let canOverlay: boolean;

const ROUNDS = 1500;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'polythene-testkit-race-'));
  await chmod(work, 0o755);
  canOverlay = await canRunOverlayHere();
  execFileSync('gcc', ['-static', '-O2', '-o', join(work, 'swap-paths'), SWAPPER_SOURCE]);
  await chmod(join(work, 'swap-paths'), 0o755);
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

function expectNoEscape(result: BoxRaceResult): void {
  expect(result.violations).toEqual([]);
  // The race was real: some operations did reach the box's own directory.
  expect(result.wrote + result.read).toBeGreaterThan(0);
}

describe.each(['copy', 'overlay'] as const)('a %s box', (method: BoxMethod) => {
  it('never reads or writes a host file through a symlink a command swaps in (root)', async (context) => {
    if (method === 'overlay' && !canOverlay) context.skip();
    const result = await runBoxRace({
      image: (await ensureTestImages()).busybox,
      store: join(work, 'store'),
      hostDir: join(work, 'host'),
      swapperPath: join(work, 'swap-paths'),
      method,
      rounds: ROUNDS,
    });
    expectNoEscape(result);
  });

  it('never reads or writes a host file through a symlink a command swaps in (unprivileged user)', async () => {
    const user = await ensureTestUser();
    const images = await ensureTestImagesAs(user);
    const userWork = join(work, `user-${method}`);
    execFileSync('mkdir', ['-m', '0755', userWork]);
    await chown(userWork, user.uid, user.gid);
    const options = {
      image: images.busybox,
      store: join(userWork, 'store'),
      hostDir: join(userWork, 'host'),
      swapperPath: join(work, 'swap-paths'),
      method,
      rounds: ROUNDS,
    };
    const run = await runAsTestUser([TSX, RUNNER, JSON.stringify(options)], {
      timeoutMs: 600_000,
    });
    expectNoEscape(JSON.parse(run.stdout.trim().split('\n').at(-1) as string) as BoxRaceResult);
  });
});
