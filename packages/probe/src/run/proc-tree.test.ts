import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { listChildPids, listProcesses, parseProcStat } from './proc-tree.ts';

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
