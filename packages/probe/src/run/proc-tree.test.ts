import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import {
  isProcessAlive,
  killProcessGroupExcept,
  listChildPids,
  listProcesses,
  type ProcStat,
  parseProcStat,
  readProcStat,
} from './proc-tree.ts';

describe('parseProcStat', () => {
  it('reads pid, state and ppid', () => {
    expect(parseProcStat('42 (sleep) S 7 42 42 0 -1')).toEqual({
      pid: 42,
      ppid: 7,
      state: 'S',
      pgid: 42,
    });
  });

  it('counts fields after the last parenthesis, whatever the command name holds', () => {
    expect(parseProcStat('9 (a) b) (c) Z 3 9 9 0')).toEqual({
      pid: 9,
      ppid: 3,
      state: 'Z',
      pgid: 9,
    });
  });

  it('rejects garbage', () => {
    expect(parseProcStat('nonsense')).toBeUndefined();
  });
});

describe('listChildPids', () => {
  it('finds exactly the direct children, as a scan of /proc does', async () => {
    const shell = spawn('/bin/sh', ['-c', 'sleep 30 & sleep 30 & wait'], {
      stdio: 'ignore',
      detached: true,
    });
    try {
      let children: number[] = [];
      for (let attempt = 0; attempt < 100 && children.length < 2; attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        children = listChildPids(shell.pid as number);
      }
      const scanned = listProcesses()
        .filter((entry) => entry.ppid === shell.pid)
        .map((entry) => entry.pid)
        .sort((a, b) => a - b);
      expect(children).toHaveLength(2);
      expect(children).toEqual(scanned);
      // Node forks from its main thread; the shell is our child, its sleeps are not.
      expect(listChildPids(process.pid)).toContain(shell.pid);
      expect(listChildPids(process.pid)).not.toContain(children[0]);
    } finally {
      process.kill(-(shell.pid as number), 'SIGKILL');
      await once(shell, 'exit');
    }
  });

  it('is empty for a process that is gone', () => {
    expect(listChildPids(2 ** 22 + 12345)).toEqual([]);
  });
});

describe('killProcessGroupExcept', () => {
  it('kills the living members but the spared one, and leaves zombies to their parent', async () => {
    // The group leader becomes `sleep 30`, which never reaps: `true` stays a zombie, and
    // so does the background sleep once it is killed.
    const leader = spawn('/bin/sh', ['-c', 'true & sleep 30 & exec sleep 30'], {
      stdio: 'ignore',
      detached: true,
    });
    const leaderPid = leader.pid as number;
    try {
      let members: ProcStat[] = [];
      for (let attempt = 0; attempt < 100; attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        members = listProcesses().filter((entry) => entry.pgid === leaderPid);
        if (members.length === 3 && members.some((entry) => entry.state === 'Z')) break;
      }
      const sleeper = members.find((entry) => entry.pid !== leaderPid && entry.state !== 'Z');
      expect(sleeper).toBeDefined();
      killProcessGroupExcept(leaderPid, leaderPid);
      let sleeperState: string | undefined;
      for (let attempt = 0; attempt < 100; attempt += 1) {
        sleeperState = readProcStat(sleeper?.pid as number)?.state;
        if (sleeperState === 'Z') break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(sleeperState).toBe('Z');
      expect(isProcessAlive(leaderPid)).toBe(true);
    } finally {
      process.kill(-leaderPid, 'SIGKILL');
      await once(leader, 'exit');
    }
  });
});
