import { lstatSync, readdirSync } from 'node:fs';
import { ensureTestImages, ensureTestImagesAs, ensureTestUser } from '@polythene/test-images';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  freshStorePath,
  type PolytheneRun,
  removeWhenDone,
  runPolythene,
  runPolytheneAs,
} from './run-polythene.ts';

/** proot loader files in /tmp owned by `uid` whose proot is gone: what nobody removed. */
function orphanedLoaders(uid: number): string[] {
  return readdirSync('/tmp').filter((name) => {
    const match = /^prooted-(\d+)-/.exec(name);
    if (match === null) return false;
    try {
      if (lstatSync(`/tmp/${name}`).uid !== uid) return false;
      process.kill(Number(match[1]), 0);
      return false;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'ESRCH';
    }
  });
}

const worlds: {
  name: string;
  uid: number;
  store: string;
  id: string;
  run: (args: readonly string[]) => Promise<PolytheneRun>;
}[] = [];

beforeAll(async () => {
  const user = await ensureTestUser();
  const rootImages = await ensureTestImages();
  const userImages = await ensureTestImagesAs(user);
  const rootStore = await freshStorePath('polythene-proot-leftovers-');
  const userStore = removeWhenDone(`/tmp/polythene-proot-leftovers-${process.pid}-${Date.now()}`);
  for (const [name, uid, store, image, run] of [
    ['root', 0, rootStore, rootImages.busybox, runPolythene],
    ['unprivileged', user.uid, userStore, userImages.busybox, runPolytheneAs],
  ] as const) {
    const pulled = await run(['pull', image, '--store', store, '--quiet']);
    expect(pulled.exitCode, pulled.stderr).toBe(0);
    worlds.push({ name, uid, store, id: pulled.stdout.trim(), run: (args) => run(args) });
  }
}, 300_000);

describe("proot's loader files", () => {
  for (const name of ['root', 'unprivileged']) {
    it(`${name}: none is left in /tmp after a run killed at its timeout`, async () => {
      const world = worlds.find((candidate) => candidate.name === name) as (typeof worlds)[0];
      const run = await world.run([
        'exec',
        world.id,
        '--store',
        world.store,
        '--isolation',
        'proot',
        '--timeout',
        '1',
        '--',
        'sleep',
        '30',
      ]);
      expect(run.exitCode, run.stderr).toBe(124);
      expect(orphanedLoaders(world.uid)).toEqual([]);
    });
  }
});
