import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ensureTestImages,
  ensureTestImagesAs,
  ensureTestUser,
  type TestUser,
} from '@polythene/test-images';
import { describe, expect, it } from 'vitest';
import {
  createFixtureWorkspace,
  listScratchDirs,
  startFixtureSuite,
  waitFor,
} from './start-fixture-suite.ts';

const isRoot = process.geteuid?.() === 0;

interface WorkerRecord {
  pid: number;
  id: string;
  isFreshPull: boolean;
  backend: string;
}

/** Store entries whose metadata says they were pulled from `ref`. */
async function countEntriesOf(store: string, ref: string): Promise<number> {
  let count = 0;
  for (const name of await readdir(store)) {
    if (!/^[0-9a-f-]{36}\.json$/.test(name)) continue;
    const metadata = JSON.parse(await readFile(join(store, name), 'utf8'));
    if (metadata.image === ref) count += 1;
  }
  return count;
}

describe.each([
  { who: 'the current user', asTestUser: false },
  { who: 'the unprivileged test user', asTestUser: true },
])('four vitest workers sharing one image, as $who', ({ asTestUser }) => {
  it.skipIf(asTestUser && !isRoot)(
    'pull it exactly once, each get their own box, and leave no box behind',
    async () => {
      const user: TestUser | undefined = asTestUser ? await ensureTestUser() : undefined;
      const images = user ? await ensureTestImagesAs(user) : await ensureTestImages();
      const workspace = await createFixtureWorkspace(user);
      try {
        for (const round of [1, 2]) {
          const run = startFixtureSuite({
            suite: 'shared-image',
            workspace,
            env: { FIXTURE_REF: images.busybox },
            user,
          });
          const { code, output } = await run.done;
          expect(code, output).toBe(0);
          const records: WorkerRecord[] = [];
          for (const name of ['1', '2', '3', '4']) {
            records.push(
              JSON.parse(await readFile(join(workspace.results, `${name}.json`), 'utf8')),
            );
          }
          // Really parallel workers: four processes, one entry, one pull among them.
          expect(new Set(records.map((record) => record.pid)).size).toBe(4);
          expect(new Set(records.map((record) => record.id)).size).toBe(1);
          expect(records.filter((record) => record.isFreshPull)).toHaveLength(round === 1 ? 1 : 0);
          expect(await countEntriesOf(workspace.store, images.busybox)).toBe(1);
          expect(await listScratchDirs(workspace.store)).toEqual([]);
          // The second run reuses the first run's pull (pullPolicy missing).
        }
      } finally {
        await waitFor(async () => (await listScratchDirs(workspace.store)).length === 0, 5_000);
        await rm(workspace.dir, { recursive: true, force: true });
      }
    },
  );
});
