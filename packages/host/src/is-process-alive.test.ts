import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isProcessAlive } from './is-process-alive.ts';

function stateOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2);
  } catch {
    return undefined;
  }
}

describe('isProcessAlive', () => {
  it('is true for a running process, ours and init', () => {
    expect(isProcessAlive(process.pid)).toBe(true);
    expect(isProcessAlive(1)).toBe(true);
  });

  it('is false for pids that cannot be a process', () => {
    for (const pid of [0, -1, 1.5, Number.NaN, 2 ** 53]) expect(isProcessAlive(pid)).toBe(false);
  });

  it('is false for an exited and reaped process', () => {
    const pid = Number(
      execFileSync('sh', ['-c', 'sh -c "exit 0" & echo $!; wait'], { encoding: 'utf8' }),
    );
    expect(isProcessAlive(pid)).toBe(false);
  });

  it('is false for a real zombie, whose pid still answers signal 0', async () => {
    // The child waits until its parent shell ($$) has become `sleep` (exec), then exits:
    // sleep never reaps it. (Exiting sooner could let the shell reap it before the exec.)
    const child = 'while [ "$(cat /proc/$$/comm)" != sleep ]; do sleep 0.01; done';
    const parent = spawn('sh', ['-c', `(${child}) & echo $!; exec sleep 30`], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      const [chunk] = (await once(parent.stdout, 'data')) as [Buffer];
      const zombiePid = Number(chunk.toString().trim());
      for (let i = 0; i < 1000 && stateOf(zombiePid) !== 'Z'; i += 1)
        await new Promise((resolve) => setTimeout(resolve, 10));
      expect(stateOf(zombiePid)).toBe('Z');
      expect(() => process.kill(zombiePid, 0)).not.toThrow();
      expect(isProcessAlive(zombiePid)).toBe(false);
      expect(isProcessAlive(parent.pid as number)).toBe(true);
    } finally {
      parent.kill('SIGKILL');
    }
  });
});
