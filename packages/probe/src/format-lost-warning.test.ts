import { describe, expect, it } from 'vitest';
import { formatLostWarning } from './format-lost-warning.ts';
import { planIdMap } from './ids/plan-id-map.ts';

describe('formatLostWarning', () => {
  const noRange = planIdMap({ isRoot: false, uid: 1002, gid: 1002, userName: 'carol' });
  const idsReason = noRange.available ? '' : noRange.reason;

  it('names the lost guarantees and where the reasons are', () => {
    expect(formatLostWarning('proot', [{ guarantee: 'pid', reason: 'no namespaces' }])).toBe(
      'proot runs without pid isolation (see polythene backends; --strict refuses)',
    );
  });

  it('carries the fix for lost ids on the same line (usermod, or apt install uidmap)', () => {
    const line = formatLostWarning('bwrap', [{ guarantee: 'ids', reason: idsReason }]);
    expect(line).toBe(
      'bwrap runs without ids isolation (see polythene backends; --strict refuses); for ids: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 carol',
    );
    const noTool = planIdMap({
      isRoot: false,
      uid: 1002,
      gid: 1002,
      userName: 'carol',
      subuid: { start: 100000, count: 65536 },
      subgid: { start: 100000, count: 65536 },
    });
    const reason = noTool.available ? '' : noTool.reason;
    expect(formatLostWarning('bwrap', [{ guarantee: 'ids', reason }])).toMatch(
      /; for ids: apt install uidmap$/,
    );
    expect(line).not.toContain('\n');
  });
});
