import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { readOwnStartTime, readProcessStartTime } from './process-start-time.ts';

// Field 22 of /proc/PID/stat as it stands, whatever the process's state.
function rawStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

describe('readProcessStartTime', () => {
  it('reads a running process, and nothing for a pid with no process', () => {
    expect(readProcessStartTime(process.pid)).toMatch(/^\d+$/);
    expect(readProcessStartTime(1)).toBe(rawStartTime(1));
    expect(readProcessStartTime(2 ** 22 + 1)).toBeUndefined();
    for (const pid of [0, -1, 1.5]) expect(readProcessStartTime(pid)).toBeUndefined();
  });

  it('is undefined for a real zombie, whose /proc entry still holds a start time', async () => {
    // The child exits once its parent shell has become `sleep`, which never reaps it.
    const child = 'while [ "$(cat /proc/$$/comm)" != sleep ]; do sleep 0.01; done';
    const parent = spawn('sh', ['-c', `(${child}) & echo $!; exec sleep 30`], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      const [chunk] = (await once(parent.stdout, 'data')) as [Buffer];
      const zombiePid = Number(chunk.toString().trim());
      const isZombie = () => /\) Z /.test(readFileSync(`/proc/${zombiePid}/stat`, 'utf8'));
      for (let i = 0; i < 1000 && !isZombie(); i += 1) await new Promise((r) => setTimeout(r, 10));
      expect(isZombie()).toBe(true);
      expect(rawStartTime(zombiePid)).toMatch(/^\d+$/);
      expect(readProcessStartTime(zombiePid)).toBeUndefined();
      expect(readProcessStartTime(parent.pid as number)).toMatch(/^\d+$/);
    } finally {
      parent.kill('SIGKILL');
    }
  });
});

describe('readOwnStartTime', () => {
  it("is this process's start time, shared with every other copy of the module", async () => {
    expect(readOwnStartTime()).toBe(rawStartTime(process.pid));
    // Another copy (the launcher's bundle, say) finds what the first one read, without a read
    // of its own: shown by a value no read could give.
    const registry = globalThis as Record<symbol, unknown>;
    const key = Symbol.for('polythene.host.ownStartTime');
    const read = registry[key];
    registry[key] = 'handed-over';
    try {
      vi.resetModules();
      const copy = (await import(
        './process-start-time.ts'
      )) as typeof import('./process-start-time.ts');
      expect(copy.readOwnStartTime).not.toBe(readOwnStartTime);
      expect(copy.readOwnStartTime()).toBe('handed-over');
    } finally {
      registry[key] = read;
    }
  });
});
