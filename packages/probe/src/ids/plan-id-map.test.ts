import { PolytheneError } from '@polythene/errors';
import { describe, expect, it } from 'vitest';
import { resolveCapabilities } from './container-capabilities.ts';
import { planIdMap } from './plan-id-map.ts';
import { parseSubordinateIds } from './read-subordinate-ids.ts';

describe('parseSubordinateIds', () => {
  const text = 'other:200000:65536\nalice:100000:1000\n1001:300000:65536\nalice:400000:65536\n';

  it('takes the first range of the user, by name or uid, that is large enough', () => {
    expect(parseSubordinateIds(text, 'alice', 1000, 65535)).toEqual({
      start: 400000,
      count: 65536,
    });
    expect(parseSubordinateIds(text, 'bob', 1001, 65535)).toEqual({ start: 300000, count: 65536 });
  });

  it('finds nothing for a user without a range, or in a malformed file', () => {
    expect(parseSubordinateIds(text, 'carol', 1002, 65535)).toBeUndefined();
    expect(parseSubordinateIds('carol:x:y\n', 'carol', 1002, 1)).toBeUndefined();
  });
});

describe('planIdMap', () => {
  const base = { isRoot: false, uid: 1001, gid: 1002, userName: 'alice' };
  const range = { start: 100000, count: 65536 };

  it('maps 0–65535 to themselves for root', () => {
    expect(planIdMap({ ...base, isRoot: true, uid: 0, gid: 0 })).toEqual({
      available: true,
      map: { uidMap: '0 0 65536', gidMap: '0 0 65536' },
    });
  });

  it('maps 0 to the caller and 1–65535 to the subordinate range through newuidmap', () => {
    const plan = planIdMap({
      ...base,
      subuid: range,
      subgid: { start: 200000, count: 65536 },
      newuidmapPath: '/usr/bin/newuidmap',
      newgidmapPath: '/usr/bin/newgidmap',
    });
    expect(plan).toEqual({
      available: true,
      map: {
        uidMap: '0 1001 1 1 100000 65535',
        gidMap: '0 1002 1 1 200000 65535',
        newuidmap: '/usr/bin/newuidmap',
        newgidmap: '/usr/bin/newgidmap',
      },
    });
  });

  it('names the fix when there is no range or no newuidmap', () => {
    const noRange = planIdMap({ ...base, newuidmapPath: '/x', newgidmapPath: '/y' });
    expect(noRange).toMatchObject({ available: false });
    expect(noRange.available ? '' : noRange.reason).toContain('usermod --add-subuids');
    const noTool = planIdMap({ ...base, subuid: range, subgid: range });
    expect(noTool.available ? '' : noTool.reason).toContain('apt install uidmap');
  });
});

describe('resolveCapabilities', () => {
  it('starts from podman’s 11 defaults', () => {
    expect(resolveCapabilities()).toHaveLength(11);
    expect(resolveCapabilities()).not.toContain('CAP_NET_RAW');
  });

  it('adds and drops as podman spells them', () => {
    expect(resolveCapabilities(['net_raw'], ['CHOWN'])).toContain('CAP_NET_RAW');
    expect(resolveCapabilities(['net_raw'], ['CHOWN'])).not.toContain('CAP_CHOWN');
    expect(resolveCapabilities(['CAP_KILL'], ['ALL'])).toEqual(['CAP_KILL']);
    expect(resolveCapabilities(['ALL'])).toHaveLength(41);
  });

  it('refuses an unknown name with a usage error', () => {
    expect(() => resolveCapabilities(['CAP_FLY'])).toThrow(PolytheneError);
    expect(() => resolveCapabilities(['CAP_FLY'])).toThrow(/unknown capability "CAP_FLY"/);
  });
});
