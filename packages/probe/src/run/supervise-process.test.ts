import type * as ChildProcessModule from 'node:child_process';
import { describe, expect, it, vi } from 'vitest';
import { decodeExitCode } from './decode-exit-code.ts';
import { superviseProcess } from './supervise-process.ts';

// The real spawn, recording how many SIGTERM/SIGINT/SIGHUP listeners polythene has at the
// moment the backend starts.
const listenersAtSpawn: number[][] = [];
vi.mock('node:child_process', async (importOriginal) => {
  const original = await importOriginal<typeof ChildProcessModule>();
  return {
    ...original,
    spawn: ((...args: Parameters<typeof original.spawn>) => {
      listenersAtSpawn.push(
        (['SIGTERM', 'SIGINT', 'SIGHUP'] as const).map((name) => process.listenerCount(name)),
      );
      return original.spawn(...args);
    }) as typeof original.spawn,
  };
});

describe('superviseProcess signal forwarding', () => {
  it('is in place before the backend starts, so an early signal never kills polythene', async () => {
    // Under load polythene can be paused right after the fork while the command already runs
    // and a test (or a user) already signals: the handlers must not come after the spawn.
    const before = (['SIGTERM', 'SIGINT', 'SIGHUP'] as const).map((name) =>
      process.listenerCount(name),
    );
    const result = await superviseProcess({
      backend: 'test-sh',
      file: '/bin/sh',
      args: ['-c', 'exit 3'],
      env: { PATH: '/usr/bin:/bin' },
      controls: { stdio: 'pipe', killGraceMs: 1_000, forwardSignals: true },
      findCommandPid: (pid) => pid,
      interpretExit: (exit) =>
        exit.code === null ? { exitCode: null, signal: exit.signal } : decodeExitCode(exit.code),
    });
    expect(result.exitCode).toBe(3);
    expect(listenersAtSpawn.at(-1)).toEqual(before.map((count) => count + 1));
    // …and gone once the run is over.
    expect((['SIGTERM', 'SIGINT', 'SIGHUP'] as const).map((n) => process.listenerCount(n))).toEqual(
      before,
    );
  });
});
