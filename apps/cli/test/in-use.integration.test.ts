import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { ensureTestImages, type TestImages } from '@polythene/test-images';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  freshStorePath,
  removeWhenDone,
  runPolythene,
  runPolytheneAs,
  startPolythene,
} from './run-polythene.ts';

// rm and prune racing running commands: an entry a command runs in is never deleted.

let images: TestImages;

beforeAll(async () => {
  images = await ensureTestImages();
});

async function pullInto(store: string): Promise<string> {
  const run = await runPolythene(['pull', images.busybox, '-s', store, '-q']);
  expect(run.exitCode).toBe(0);
  return run.stdout.trim();
}

// The pids of the live marks on `id`, once the exec has made its mark.
async function waitForMark(store: string, id: string): Promise<number[]> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const names = await readdir(join(store, '.inuse')).catch(() => [] as string[]);
    const pids = names
      .filter((name) => name.startsWith(`${id}.`))
      .map((name) => Number(name.split('.')[1]));
    if (pids.length > 0) return pids;
    await delay(25);
  }
  throw new Error(`no in-use mark for ${id} appeared`);
}

describe.each(['bwrap', 'proot', 'chroot'])('a command running in an entry (%s)', (backend) => {
  it('rm refuses (exit 1, naming the pid), prune skips, rm --force stops it and removes', async () => {
    const store = await freshStorePath();
    const id = await pullInto(store);
    const running = startPolythene(['exec', id, '-s', store, '-i', backend, '--', 'sleep', '60']);
    const [pid] = await waitForMark(store, id);
    expect(pid).toBe(running.pid);

    const refused = await runPolythene(['rm', id, '-s', store]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toContain(`pid ${pid}`);
    expect(await readdir(store)).toContain(id);

    const pruned = await runPolythene(['prune', '-s', store, '--older-than', '0s']);
    expect(pruned.exitCode).toBe(0);
    expect(pruned.stdout).toBe('');
    expect(pruned.stderr).toContain(`skipped ${id}`);
    expect(await readdir(store)).toContain(id);

    const startedMs = Date.now();
    const forced = await runPolythene(['rm', '--force', id, '-s', store]);
    expect(forced).toMatchObject({ exitCode: 0, stderr: '' });
    expect(Date.now() - startedMs).toBeLessThan(10_000);
    const ended = await running;
    expect(ended.exitCode).toBe(143);
    expect(await readdir(store)).not.toContain(id);
  });
});

describe('an overlay clone and an ephemeral run', () => {
  it('a clone running: rm of the clone and of its base refused, prune keeps both and says why', async () => {
    const store = await freshStorePath();
    const baseId = await pullInto(store);
    const cloned = await runPolythene(['clone', baseId, '-s', store, '--method', 'overlay']);
    expect(cloned.exitCode).toBe(0);
    const cloneId = cloned.stdout.trim();
    const running = startPolythene(['exec', cloneId, '-s', store, '--', 'sleep', '60']);
    const [pid] = await waitForMark(store, cloneId);
    expect(pid).toBe(running.pid);

    const refusedClone = await runPolythene(['rm', cloneId, '-s', store]);
    expect(refusedClone.exitCode).toBe(1);
    expect(refusedClone.stderr).toContain(`pid ${pid}`);
    const refusedBase = await runPolythene(['rm', baseId, '-s', store]);
    expect(refusedBase.exitCode).toBe(1);
    expect(refusedBase.stderr).toContain(cloneId);

    const pruned = await runPolythene(['prune', '-s', store, '--older-than', '0s']);
    expect(pruned.exitCode).toBe(0);
    expect(pruned.stdout).toBe('');
    expect(pruned.stderr).toContain(`skipped ${cloneId}: commands are running in it (pids ${pid})`);
    expect(pruned.stderr).toContain(`kept ${baseId}: clones layered on it remain (${cloneId})`);
    const prunedJson = await runPolythene(['prune', '-s', store, '--older-than', '0s', '--json']);
    expect(JSON.parse(prunedJson.stdout)).toMatchObject({
      removedIds: [],
      skippedInUse: [{ id: cloneId, pids: [pid] }],
      keptBases: [{ id: baseId, dependentIds: [cloneId] }],
    });
    expect(await readdir(store)).toEqual(expect.arrayContaining([baseId, cloneId]));

    running.kill('SIGTERM');
    expect((await running).exitCode).toBe(143);
    expect(await runPolythene(['rm', cloneId, '-s', store])).toMatchObject({ exitCode: 0 });
    expect(await runPolythene(['rm', baseId, '-s', store])).toMatchObject({ exitCode: 0 });
  });

  it('exec --ephemeral: rm refuses and prune skips; rm --force stops the run and removes it all', async () => {
    const store = await freshStorePath();
    const id = await pullInto(store);
    const running = startPolythene(['exec', '--ephemeral', id, '-s', store, '--', 'sleep', '60']);
    const [pid] = await waitForMark(store, id);
    expect(pid).toBe(running.pid);
    const refused = await runPolythene(['rm', id, '-s', store]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toContain(`${pid}`);
    const pruned = await runPolythene(['prune', '-s', store, '--older-than', '0s']);
    expect(pruned).toMatchObject({ exitCode: 0, stdout: '' });
    expect(pruned.stderr).toContain(`skipped ${id}`);
    expect(await readdir(store)).toContain(id);

    const forced = await runPolythene(['rm', '--force', id, '-s', store]);
    expect(forced).toMatchObject({ exitCode: 0, stderr: '' });
    expect((await running).exitCode).toBe(143);
    // Neither the entry nor the run's throwaway layer is left.
    expect((await readdir(store)).filter((name) => name !== '.inuse')).toEqual([]);
  });
});

describe('stale and unprivileged marks', () => {
  it("a SIGKILLed exec's mark does not block a later rm", async () => {
    const store = await freshStorePath();
    const id = await pullInto(store);
    const running = startPolythene(['exec', id, '-s', store, '--', 'sleep', '60']);
    await waitForMark(store, id);
    running.kill('SIGKILL');
    await running;
    const removed = await runPolythene(['rm', id, '-s', store]);
    expect(removed).toMatchObject({ exitCode: 0, stderr: '' });
  });

  it.each(['bwrap', 'proot'])(
    'an unprivileged exec (%s) is protected too: rm refuses, prune skips, rm --force removes',
    async (backend) => {
      const store = removeWhenDone(`/tmp/polythene-inuse-${process.pid}-${Date.now()}`);
      const pulled = await runPolytheneAs(['pull', images.busybox, '-s', store, '-q']);
      expect(pulled.exitCode).toBe(0);
      const id = pulled.stdout.trim();
      const running = runPolytheneAs(
        ['exec', id, '-s', store, '-i', backend, '--', 'sleep', '60'],
        {
          env: { POLYTHENE_VERBOSE: '1' },
        },
      );
      const [pid] = await waitForMark(store, id);
      const refused = await runPolytheneAs(['rm', id, '-s', store]);
      expect(refused.exitCode).toBe(1);
      expect(refused.stderr).toContain(`commands are running in it (pid ${pid})`);
      const pruned = await runPolytheneAs(['prune', '-s', store, '--older-than', '0s']);
      expect(pruned).toMatchObject({ exitCode: 0, stdout: '' });
      expect(pruned.stderr).toContain(`skipped ${id}: commands are running in it (pids ${pid})`);
      expect(await readdir(store)).toContain(id);
      expect((await runPolytheneAs(['rm', '--force', id, '-s', store])).exitCode).toBe(0);
      const ended = await running;
      expect(ended.exitCode, ended.stderr).toBe(143);
      expect(ended.stderr).toMatch(new RegExp(`running .* with ${backend}\\n`));
      expect(await readdir(store)).not.toContain(id);
    },
  );
});

describe('a read-only store', () => {
  it.each([['list'], ['backends'], ['inspect', 'x'], ['diff', 'x'], ['exec', 'x', '--', 'true']])(
    '%j never creates a missing store',
    async (...args) => {
      const parent = removeWhenDone(await mkdtemp(join(tmpdir(), 'polythene-nostore-')));
      const store = join(parent, 'new', 'deep', 'store');
      const run = await runPolythene([...args, '-s', store]);
      expect(run.exitCode).toBe(args[0] === 'list' || args[0] === 'backends' ? 0 : 1);
      expect(await readdir(parent)).toEqual([]);
    },
  );

  it('runs list and exec, and refuses rm in one line', async () => {
    const store = await freshStorePath();
    const id = await pullInto(store);
    await execa('mount', ['--bind', '-o', 'ro', store, store]);
    try {
      const listed = await runPolythene(['list', '-s', store, '--json']);
      expect(listed.exitCode).toBe(0);
      expect(listed.stdout).toContain(id);
      const ran = await runPolythene(['exec', id, '-s', store, '--', 'echo', 'ok']);
      expect(ran).toMatchObject({ exitCode: 0, stdout: 'ok\n' });
      const removed = await runPolythene(['rm', id, '-s', store]);
      expect(removed.exitCode).not.toBe(0);
      expect(removed.stderr.trim().split('\n')).toHaveLength(1);
      expect(removed.stderr).toMatch(/read-only/);
    } finally {
      await execa('umount', [store]);
    }
  });
});
