import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findCgroupHierarchies } from './find-cgroup-hierarchies.ts';
import { createRunCgroup } from './run-cgroup.ts';
import { ownerStamp } from './run-cgroup-name.ts';
import { sweepStaleRunCgroups } from './stale-run-cgroups.ts';

// cgroup v2 cannot be exercised live on this host (its unified mount has no controllers):
// these tests run the v2 path against a prepared directory tree standing in for the mount.

let mount: string;
const own = '/user.slice/user-1000.slice/user@1000.service/app.slice/run.scope';

function sources(cgroup = `0::${own}\n`) {
  return {
    mountinfo: [
      `30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw`,
      `40 30 0:37 / ${mount} rw,nosuid - cgroup2 cgroup2 rw,nsdelegate`,
    ].join('\n'),
    cgroup,
  };
}

beforeEach(() => {
  mount = mkdtempSync(join(tmpdir(), 'polythene-cgroup-v2-'));
  mkdirSync(join(mount, own), { recursive: true });
});
afterEach(() => rmSync(mount, { recursive: true, force: true }));

describe('cgroup v2 (prepared files)', () => {
  it('uses the nearest writable ancestor whose children get the pids controller', async () => {
    const delegated = join(mount, '/user.slice/user-1000.slice/user@1000.service');
    writeFileSync(join(delegated, 'cgroup.subtree_control'), 'cpu memory pids\n');
    writeFileSync(join(mount, own, 'cgroup.subtree_control'), '\n');
    const hierarchies = findCgroupHierarchies(sources());
    expect(hierarchies).toEqual({
      version: 'v2',
      parents: { pids: delegated, memory: delegated, cpu: delegated },
      ownDirectory: join(mount, own),
    });
    // Polythene returns to its own cgroup after the spawn, not to the delegated ancestor.
    const cgroup = createRunCgroup(hierarchies, { pidsLimit: 8 });
    cgroup.enter();
    cgroup.leave();
    await cgroup.dispose();
    expect(readFileSync(join(mount, own, 'cgroup.procs'), 'utf8')).toBe(String(process.pid));
  });

  it("reads its own cgroup as the parent of its own run cgroup it sits in, not another's", () => {
    writeFileSync(join(mount, own, 'cgroup.subtree_control'), 'pids\n');
    const inOwnRun = findCgroupHierarchies(sources(`0::${own}/${ownerStamp()}-1\n`));
    expect(inOwnRun.ownDirectory).toBe(join(mount, own));
    expect(inOwnRun.parents.pids).toBe(join(mount, own));
    // A box's run cgroup (another polythene's) is a real limit: new runs go below it.
    const boxRun = `${own}/polythene-999999999-1-1`;
    mkdirSync(join(mount, boxRun));
    writeFileSync(join(mount, boxRun, 'cgroup.subtree_control'), 'pids\n');
    expect(findCgroupHierarchies(sources(`0::${boxRun}\n`)).ownDirectory).toBe(join(mount, boxRun));
  });

  it('prefers its own cgroup when it delegates the controllers', () => {
    writeFileSync(join(mount, own, 'cgroup.subtree_control'), 'pids memory\n');
    const hierarchies = findCgroupHierarchies(sources());
    expect(hierarchies.parents).toEqual({ pids: join(mount, own), memory: join(mount, own) });
  });

  it('reports none without a cgroup whose children get pids', () => {
    const hierarchies = findCgroupHierarchies(sources());
    expect(hierarchies.version).toBe('none');
    expect(hierarchies.reason).toMatch(/no writable cgroup/);
  });

  it('writes the v2 limit files, enters with cgroup.procs and reads usage', async () => {
    const parent = join(mount, own);
    writeFileSync(join(parent, 'cgroup.subtree_control'), 'cpu memory pids\n');
    const cgroup = createRunCgroup(findCgroupHierarchies(sources()), {
      pidsLimit: 64,
      memoryBytes: 256 * 1024 ** 2,
      cpus: 0.5,
    });
    const [directory = ''] = cgroup.directories;
    expect(cgroup.directories).toHaveLength(1);
    expect(directory).toMatch(new RegExp(`^${parent}/polythene-${process.pid}-\\d+-\\d+$`));
    const read = (file: string) => readFileSync(join(directory, file), 'utf8');
    expect(read('pids.max')).toBe('64');
    expect(read('memory.max')).toBe(String(256 * 1024 ** 2));
    expect(read('cpu.max')).toBe('50000 100000');
    cgroup.enter();
    expect(read('cgroup.procs')).toBe(String(process.pid));
    cgroup.leave();
    // Prepared files: the removal fails (not empty) and only the move back is seen.
    await cgroup.dispose();
    expect(readFileSync(join(parent, 'cgroup.procs'), 'utf8')).toBe(String(process.pid));
    writeFileSync(join(directory, 'memory.events'), 'low 0\nhigh 0\nmax 9\noom 1\noom_kill 1\n');
    writeFileSync(join(directory, 'pids.events'), 'max 3\n');
    writeFileSync(join(directory, 'memory.peak'), '268435456\n');
    writeFileSync(join(directory, 'cpu.stat'), 'usage_usec 1500000\nuser_usec 1000000\n');
    expect(cgroup.readUsage()).toEqual({
      memoryLimitHit: true,
      pidsLimitHit: true,
      memoryPeakBytes: 268435456,
      cpuTimeMs: 1500,
    });
  });

  it('enters early only a cgroup that limits pids alone', async () => {
    const parent = join(mount, own);
    writeFileSync(join(parent, 'cgroup.subtree_control'), 'cpu memory pids\n');
    const background = { movesInBackground: true };
    const pidsOnly = createRunCgroup(
      findCgroupHierarchies(sources()),
      { pidsLimit: 64 },
      background,
    );
    const [pidsDirectory = ''] = pidsOnly.directories;
    await pidsOnly.enterEarly();
    expect(readFileSync(join(pidsDirectory, 'cgroup.procs'), 'utf8')).toBe(String(process.pid));
    // With memory in the same directory, the process would charge its own memory to the run.
    const withMemory = createRunCgroup(
      findCgroupHierarchies(sources()),
      { pidsLimit: 64, memoryBytes: 64 * 1024 ** 2 },
      background,
    );
    const [memoryDirectory = ''] = withMemory.directories;
    writeFileSync(join(memoryDirectory, 'cgroup.procs'), '');
    await withMemory.enterEarly();
    expect(readFileSync(join(memoryDirectory, 'cgroup.procs'), 'utf8')).toBe('');
    withMemory.enter();
    expect(readFileSync(join(memoryDirectory, 'cgroup.procs'), 'utf8')).toBe(String(process.pid));
  });

  it('sweeps run cgroups whose polythene is gone, and keeps live ones', () => {
    const parent = join(mount, own);
    writeFileSync(join(parent, 'cgroup.subtree_control'), 'pids\n');
    mkdirSync(join(parent, 'polythene-999999999-1-1'));
    mkdirSync(join(parent, `polythene-${process.pid}-1-1`));
    const live = createRunCgroup(findCgroupHierarchies(sources()), { pidsLimit: 8 });
    const removed = sweepStaleRunCgroups(findCgroupHierarchies(sources()));
    // Our own pid with another start time is a previous process that had our pid.
    expect(removed.sort()).toEqual(
      [
        join(parent, 'polythene-999999999-1-1'),
        join(parent, `polythene-${process.pid}-1-1`),
      ].sort(),
    );
    expect(live.directories).toHaveLength(1);
  });
});
