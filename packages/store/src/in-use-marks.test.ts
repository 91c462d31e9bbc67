import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, link, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { readProcessStartTime } from '@polythene/host';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findRunningUsers, markInUse, parseMarkName } from './in-use-marks.ts';
import { openStore, type Store } from './open-store.ts';

let base: string;
let store: Store;
const children: ChildProcess[] = [];

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'polythene-inuse-'));
  store = await openStore(join(base, 'store'));
});

afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  await chmod(base, 0o700).catch(() => {});
  await rm(base, { recursive: true, force: true });
});

async function commitEntry(): Promise<string> {
  const entry = await store.createEntry();
  await writeFile(join(entry.path, 'file'), 'x');
  return (
    await entry.commit({
      image: 'test',
      origin: { kind: 'pull' },
      architecture: 'amd64',
      os: 'linux',
      config: { env: [] },
    })
  ).id;
}

// A real other process holding a mark, as a `polythene exec` in another process would.
async function markFromAnotherProcess(id: string): Promise<ChildProcess> {
  const child = spawn('sleep', ['60']);
  children.push(child);
  await once(child, 'spawn');
  const pid = child.pid as number;
  const dir = join(store.dir, '.inuse');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, '.anchor'), '', { flag: 'a' });
  await link(join(dir, '.anchor'), join(dir, `${id}.${pid}.${readProcessStartTime(pid)}`));
  return child;
}

// A real zombie: a process that has exited but that its parent (a shell turned `sleep`) never
// reaps. Resolves with its pid and the start time it had (still in its /proc entry).
async function startZombie(): Promise<{ pid: number; startTime: string }> {
  const child = 'while [ "$(cat /proc/$$/comm)" != sleep ]; do sleep 0.01; done';
  const parent = spawn('sh', ['-c', `(${child}) & echo $!; exec sleep 60`], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  children.push(parent);
  const [chunk] = (await once(parent.stdout as NonNullable<typeof parent.stdout>, 'data')) as [
    Buffer,
  ];
  const pid = Number(chunk.toString().trim());
  const fieldsOf = async () => {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  };
  for (let i = 0; i < 1000 && (await fieldsOf())[0] !== 'Z'; i += 1) await delay(10);
  const fields = await fieldsOf();
  expect(fields[0]).toBe('Z');
  return { pid, startTime: fields[19] as string };
}

describe('in-use marks', () => {
  it('reads start times from /proc, and names back from marks', () => {
    expect(readProcessStartTime(process.pid)).toMatch(/^\d+$/);
    expect(readProcessStartTime(2 ** 22 + 1)).toBeUndefined();
    expect(parseMarkName('my.tools.123.456')).toEqual({
      id: 'my.tools',
      pid: 123,
      startTime: '456',
    });
    expect(parseMarkName('.anchor')).toBeUndefined();
  });

  it('rm refuses an entry a live process runs in, naming the pid; a killed one does not block', async () => {
    const id = await commitEntry();
    const child = await markFromAnotherProcess(id);
    await expect(store.remove(id)).rejects.toMatchObject({
      code: 'POLYTHENE_ENTRY_IN_USE',
      message: expect.stringContaining(`pid ${child.pid}`),
    });
    expect((await store.list()).map((entry) => entry.id)).toContain(id);
    const report = await store.prune({ olderThanMs: 0, now: new Date(Date.now() + 60_000) });
    expect(report.skippedInUse).toEqual([{ id, pids: [child.pid] }]);
    expect(report.removedIds).toEqual([]);
    child.kill('SIGKILL');
    await once(child, 'exit');
    await store.remove(id);
    expect(await readdir(join(store.dir, '.inuse'))).toEqual(['.anchor']);
  });

  it('a mark held by a zombie (exited, not reaped) does not block rm', async () => {
    const id = await commitEntry();
    const zombie = await startZombie();
    const dir = join(store.dir, '.inuse');
    await mkdir(dir);
    await writeFile(join(dir, '.anchor'), '');
    await link(join(dir, '.anchor'), join(dir, `${id}.${zombie.pid}.${zombie.startTime}`));
    expect(findRunningUsers(store.dir, id)).toEqual([]);
    await store.remove(id);
    expect(await readdir(dir)).toEqual(['.anchor']);
  });

  it('ignores a mark whose pid now belongs to another process (start time differs)', async () => {
    const id = await commitEntry();
    const dir = join(store.dir, '.inuse');
    await mkdir(dir);
    await writeFile(join(dir, `${id}.${process.pid}.1`), '');
    expect(findRunningUsers(store.dir, id)).toEqual([]);
    await store.remove(id);
  });

  it("holds this process's mark until the last of its runs releases it", async () => {
    const id = await commitEntry();
    const first = store.markInUse(id);
    const second = store.markInUse(id);
    expect(first.isMarked).toBe(true);
    expect(store.runningUsers(id)).toEqual([process.pid]);
    first.release();
    first.release();
    expect(store.runningUsers(id)).toEqual([process.pid]);
    second.release();
    expect(store.runningUsers(id)).toEqual([]);
    await store.remove(id);
  });

  it('marks nothing, and makes no .inuse, for an entry that does not exist', async () => {
    const mark = markInUse(store.dir, 'missing');
    expect(mark.isMarked).toBe(false);
    mark.release();
    expect(await readdir(store.dir)).toEqual([]);
  });
});
