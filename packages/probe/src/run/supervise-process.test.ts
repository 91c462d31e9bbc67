import { getDumpableState } from '@polythene/native';
import { describe, expect, it, vi } from 'vitest';
import { decodeExitCode } from './decode-exit-code.ts';
import type * as SpawnModule from './spawn-backend-process.ts';
import { superviseProcess } from './supervise-process.ts';

// The real spawn, recording how many SIGTERM/SIGINT/SIGHUP listeners polythene has at the
// moment the backend starts.
const listenersAtSpawn: number[][] = [];
vi.mock('./spawn-backend-process.ts', async (importOriginal) => {
  const original = await importOriginal<typeof SpawnModule>();
  return {
    ...original,
    spawnBackendProcess: (options: SpawnModule.BackendSpawnOptions) => {
      listenersAtSpawn.push(
        (['SIGTERM', 'SIGINT', 'SIGHUP'] as const).map((name) => process.listenerCount(name)),
      );
      return original.spawnBackendProcess(options);
    },
  };
});

describe('superviseProcess signal forwarding', () => {
  it.each(['pipe', 'inherit'] as const)(
    'is in place before the backend starts, so an early signal never kills polythene (stdio %s)',
    async (stdio) => {
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
        controls: { stdio, killGraceMs: 1_000, forwardSignals: true },
        findCommandPid: (pid) => pid,
        interpretExit: (exit) =>
          exit.code === null ? { exitCode: null, signal: exit.signal } : decodeExitCode(exit.code),
      });
      expect(result.exitCode).toBe(3);
      expect(listenersAtSpawn.at(-1)).toEqual(before.map((count) => count + 1));
      // …and gone once the run is over.
      expect(
        (['SIGTERM', 'SIGINT', 'SIGHUP'] as const).map((n) => process.listenerCount(n)),
      ).toEqual(before);
    },
  );
});

describe('superviseProcess hideSupervisor', () => {
  it('keeps this process non-dumpable while overlapping runs last, and dumpable again after', async () => {
    const run = (script: string) =>
      superviseProcess({
        backend: 'test-sh',
        file: '/bin/sh',
        args: ['-c', script],
        env: { PATH: '/usr/bin:/bin' },
        controls: { stdio: 'pipe', killGraceMs: 1_000, forwardSignals: false },
        findCommandPid: (pid) => pid,
        hideSupervisor: true,
        interpretExit: (exit) =>
          exit.code === null ? { exitCode: null, signal: exit.signal } : decodeExitCode(exit.code),
      });
    expect(getDumpableState()).toBe(1);
    const long = run('sleep 0.3');
    const short = run('exit 0');
    expect(getDumpableState()).toBe(0);
    await short;
    // The longer run still holds it.
    expect(getDumpableState()).toBe(0);
    await long;
    expect(getDumpableState()).toBe(1);
  });
});
