import { describe, expect, it } from 'vitest';
import { isDefaultLimitExec } from './early-run-cgroup.ts';

// Which invocations the launcher starts a run cgroup for (pure logic; the live adoption is
// in test/limits.integration.test.ts).

describe('isDefaultLimitExec', () => {
  it('is true for an exec under the default pids limit alone', () => {
    expect(isDefaultLimitExec(['exec', 'dev', '--', 'true'], {})).toBe(true);
    expect(
      isDefaultLimitExec(['exec', 'dev', '-t', '5', '--network', 'host', '--', 'true'], {}),
    ).toBe(true);
    // Flags after `--` belong to the command.
    expect(isDefaultLimitExec(['exec', 'dev', '--', 'prog', '--memory', '1g'], {})).toBe(true);
  });

  it('is false for other commands, other limits, a box, help or POLYTHENE_PIDS_LIMIT', () => {
    expect(isDefaultLimitExec(['pull', 'busybox'], {})).toBe(false);
    expect(isDefaultLimitExec([], {})).toBe(false);
    for (const flags of [
      ['--memory', '64m'],
      ['--memory=64m'],
      ['--cpus', '1'],
      ['--pids-limit', '10'],
      ['--pids-limit=0'],
      ['--in', 'box'],
      ['--help'],
      ['-h'],
    ]) {
      expect(isDefaultLimitExec(['exec', 'dev', ...flags, '--', 'true'], {}), flags.join(' ')).toBe(
        false,
      );
    }
    expect(isDefaultLimitExec(['exec', 'dev', '--', 'true'], { POLYTHENE_PIDS_LIMIT: '0' })).toBe(
      false,
    );
    expect(isDefaultLimitExec(['exec', 'dev', '--', 'true'], { POLYTHENE_PIDS_LIMIT: '' })).toBe(
      true,
    );
  });
});
