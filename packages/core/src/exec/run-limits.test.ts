import type { ResourceLimits, RunCgroup } from '@polythene/probe';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.ts';
import { prepareRunLimits } from './run-limits.ts';

// What exec does with a run cgroup made ahead of it (pure logic: a recording stand-in for
// the cgroup; the live adoption is in apps/cli/test/limits.integration.test.ts).

function preparedCgroup(limits: ResourceLimits, calls: string[]): RunCgroup {
  return {
    version: 'v1',
    limits,
    directories: ['/sys/fs/cgroup/pids/polythene-1-2-1'],
    enterEarly: () => {
      calls.push('enterEarly');
      return Promise.resolve();
    },
    enter: () => calls.push('enter'),
    leave: () => calls.push('leave'),
    readUsage: () => ({ memoryLimitHit: false, pidsLimitHit: false }),
    dispose: () => {
      calls.push('dispose');
      return Promise.resolve();
    },
  };
}

const context = { strict: false, logger: silentLogger };

describe('prepareRunLimits with a prepared cgroup', () => {
  it('adopts one with the same limits: its hooks enter it, and disposing disposes it', async () => {
    const calls: string[] = [];
    const limits = prepareRunLimits(
      { limits: { pidsLimit: 4096 }, isAsked: false },
      context,
      preparedCgroup({ pidsLimit: 4096 }, calls),
    );
    const hooks = await limits.ready();
    hooks?.before();
    hooks?.after();
    const outcome = limits.finish({
      backend: 'bwrap',
      exitCode: 0,
      signal: null,
      timedOut: false,
      durationMs: 1,
    });
    await limits.dispose();
    expect(calls).toEqual(['enterEarly', 'enter', 'leave', 'dispose']);
    expect(outcome).toEqual({ limits: 'v1', pidsLimit: 4096 });
  });

  it('disposes of one made for other limits and uses none of it', async () => {
    const calls: string[] = [];
    const limits = prepareRunLimits(
      { limits: {}, isAsked: false },
      context,
      preparedCgroup({ pidsLimit: 4096 }, calls),
    );
    expect(await limits.ready()).toBeUndefined();
    await limits.dispose();
    expect(calls).toEqual(['dispose']);
  });
});
