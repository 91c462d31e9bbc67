import { readFile, rm, stat } from 'node:fs/promises';
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
  findMountsUnder,
  findSleepProcesses,
  listScratchDirs,
  startFixtureSuite,
  waitFor,
} from './start-fixture-suite.ts';

const isRoot = process.geteuid?.() === 0;

async function prepare(asTestUser: boolean) {
  const user: TestUser | undefined = asTestUser ? await ensureTestUser() : undefined;
  const images = user ? await ensureTestImagesAs(user) : await ensureTestImages();
  const workspace = await createFixtureWorkspace(user);
  // A sleep length no other test uses, to find this run's processes.
  const sleepSeconds = String(1000 + Math.floor(Math.random() * 8999));
  return { user, ref: images.busybox, workspace, sleepSeconds };
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

describe.each([
  { who: 'the current user', asTestUser: false },
  { who: 'the unprivileged test user', asTestUser: true },
])('nothing leaks, as $who', ({ asTestUser }) => {
  describe.each([
    { signal: 'SIGINT' as const, how: 'Ctrl-C (SIGINT to the process group)' },
    { signal: 'SIGKILL' as const, how: 'SIGKILL of the whole process group' },
  ])('when the run is interrupted by $how', ({ signal }) => {
    it.skipIf(asTestUser && !isRoot)('removes the boxes that existed', async () => {
      const { user, ref, workspace, sleepSeconds } = await prepare(asTestUser);
      try {
        const run = startFixtureSuite({
          suite: 'cleanup',
          filter: 'hang',
          workspace,
          env: { FIXTURE_REF: ref, FIXTURE_SLEEP_S: sleepSeconds },
          user,
        });
        const readyPath = join(workspace.results, 'ready');
        const isReady = await waitFor(() => exists(readyPath), 90_000);
        expect(isReady, 'the fixture suite never made its boxes').toBe(true);
        const boxes = (await readFile(readyPath, 'utf8')).trim().split('\n');
        expect(boxes).toHaveLength(2);
        for (const box of boxes) expect(await exists(box)).toBe(true);
        expect(
          await waitFor(async () => (await findSleepProcesses(sleepSeconds)).length > 0, 10_000),
        ).toBe(true);

        process.kill(-(run.child.pid as number), signal);
        const ended = await Promise.race([
          run.done,
          new Promise((resolve) => setTimeout(() => resolve(undefined), 60_000)),
        ]);
        expect(ended, 'vitest did not end after the signal').toBeDefined();

        // After SIGKILL only the reaper can clean up, a moment after the worker died.
        const isClean = await waitFor(
          async () => (await listScratchDirs(workspace.store)).length === 0,
          15_000,
        );
        expect(await listScratchDirs(workspace.store)).toEqual([]);
        expect(isClean).toBe(true);
        expect(await findMountsUnder(workspace.store)).toEqual([]);
        expect(
          await waitFor(async () => (await findSleepProcesses(sleepSeconds)).length === 0, 10_000),
        ).toBe(true);
        // The pulled image stays cached for the next run.
        const index = JSON.parse(
          await readFile(join(workspace.store, '.testkit-images.json'), 'utf8'),
        );
        expect(await exists(join(workspace.store, index.images[ref].id))).toBe(true);
      } finally {
        await waitFor(async () => (await listScratchDirs(workspace.store)).length === 0, 5_000);
        await rm(workspace.dir, { recursive: true, force: true });
      }
    });
  });

  it.skipIf(asTestUser && !isRoot)(
    'removes the boxes of failed, timed-out and undisposed tests by the time vitest exits',
    async () => {
      const { user, ref, workspace, sleepSeconds } = await prepare(asTestUser);
      try {
        const run = startFixtureSuite({
          suite: 'cleanup',
          filter: 'fail-and-timeout',
          workspace,
          env: { FIXTURE_REF: ref, FIXTURE_SLEEP_S: sleepSeconds },
          user,
        });
        const { code, output } = await run.done;
        expect(code, output).toBe(1);
        expect(output).toMatch(/Tests\s.*3 failed.*1 passed/);
        expect(output).toContain('Test timed out in 1500ms');
        const boxes = (await readFile(join(workspace.results, 'boxes'), 'utf8')).trim().split('\n');
        expect(boxes).toHaveLength(4);
        // Synchronously: the dispose, exit and SIGTERM hooks ran before vitest returned.
        for (const box of boxes) expect(await exists(box)).toBe(false);
        expect(await listScratchDirs(workspace.store)).toEqual([]);
        expect(await findMountsUnder(workspace.store)).toEqual([]);
        expect(await findSleepProcesses(sleepSeconds)).toEqual([]);
      } finally {
        await rm(workspace.dir, { recursive: true, force: true });
      }
    },
  );
});
