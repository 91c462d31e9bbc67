import { describe, expect, it } from 'vitest';
import { parseProcStat } from './proc-tree.ts';

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
