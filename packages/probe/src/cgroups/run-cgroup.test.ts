import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findCgroupHierarchies } from './find-cgroup-hierarchies.ts';
import { createRunCgroup } from './run-cgroup.ts';
import { sweepStaleRunCgroups } from './stale-run-cgroups.ts';

// The live cgroup v1 hierarchies of this host (root): the spawning thread's move into a run
// cgroup and back, a child started in it, and the removal.

const hierarchies = findCgroupHierarchies();
const threadId = readlinkSync('/proc/thread-self').split('/').at(-1) ?? '';
const background = { movesInBackground: true };
const tasksOf = (directory: string): string[] =>
  readFileSync(`${directory}/tasks`, 'utf8').split('\n').filter(Boolean);

describe.runIf(hierarchies.version === 'v1')('run cgroup (live v1)', () => {
  it('moves the spawning thread itself at the spawn, starts the child in it, and is removed', async () => {
    // Even for the CLI (movesInBackground): on v1 the thread moves itself, with no kernel
    // wait to hide, so nothing moves early.
    const cgroup = createRunCgroup(hierarchies, { pidsLimit: 16 }, background);
    const [pids = ''] = cgroup.directories;
    const parent = hierarchies.parents.pids ?? '';
    await cgroup.enterEarly();
    expect(tasksOf(pids)).toEqual([]);
    cgroup.enter();
    // Only this thread: Node's other threads never count against the run's pids limit.
    expect(tasksOf(pids)).toEqual([threadId]);
    const child = spawn('sleep', ['0.2']);
    cgroup.leave();
    expect(tasksOf(pids)).toEqual([String(child.pid)]);
    const childCgroups = readFileSync(`/proc/${child.pid}/cgroup`, 'utf8');
    expect(childCgroups).toMatch(new RegExp(`:pids:.*/${basename(pids)}$`, 'm'));
    await new Promise((resolve) => child.on('exit', resolve));
    await cgroup.dispose();
    expect(existsSync(pids)).toBe(false);
    expect(tasksOf(parent)).toContain(threadId);
  });

  it('enters and leaves the memory hierarchy too', async () => {
    const cgroup = createRunCgroup(hierarchies, { pidsLimit: 16, memoryBytes: 64 * 1024 ** 2 });
    const [pids = '', memory = ''] = cgroup.directories;
    try {
      cgroup.enter();
      expect(tasksOf(pids)).toEqual([threadId]);
      expect(tasksOf(memory)).toEqual([threadId]);
      cgroup.leave();
      expect(tasksOf(memory)).toEqual([]);
    } finally {
      await cgroup.dispose();
    }
    expect(existsSync(pids) || existsSync(memory)).toBe(false);
  });

  it('kills what is left in the cgroup when it is disposed', async () => {
    const cgroup = createRunCgroup(hierarchies, { pidsLimit: 16 }, background);
    const [pids = ''] = cgroup.directories;
    await cgroup.enterEarly();
    cgroup.enter();
    const child = spawn('sleep', ['60']);
    cgroup.leave();
    const exited = new Promise((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    await cgroup.dispose();
    expect(await exited).toBe('SIGKILL');
    expect(existsSync(pids)).toBe(false);
  });

  it('moves only on the calling thread, at once, without movesInBackground (the API)', async () => {
    const cgroup = createRunCgroup(hierarchies, { pidsLimit: 16 });
    const [pids = ''] = cgroup.directories;
    try {
      // A process spawned while a run is prepared must not join it: nothing moves early.
      await cgroup.enterEarly();
      expect(tasksOf(pids)).toEqual([]);
      cgroup.enter();
      expect(tasksOf(pids)).toEqual([threadId]);
      // Back at once: another run's spawn right after is not taken into this cgroup.
      cgroup.leave();
      expect(tasksOf(pids)).toEqual([]);
    } finally {
      await cgroup.dispose();
    }
    expect(existsSync(pids)).toBe(false);
  });

  it('sweeps a stale run cgroup with one nested in it', () => {
    const parent = hierarchies.parents.pids ?? '';
    const outer = `${parent}/polythene-999999999-1-1`;
    mkdirSync(`${outer}/polythene-999999999-1-2`, { recursive: true });
    expect(sweepStaleRunCgroups(hierarchies)).toContain(outer);
    expect(existsSync(outer)).toBe(false);
  });
});
