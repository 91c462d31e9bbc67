import { describe, expect, it } from 'vitest';
import { findRunCgroupMoves } from './process-cgroups.ts';

// Which cgroups a command entering a box joins, from /proc text (pure logic).

const V1_MOUNTS = [
  '30 25 0:26 / /sys/fs/cgroup/pids rw,nosuid - cgroup cgroup rw,pids',
  '31 25 0:27 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory',
  '32 25 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct',
  '33 25 0:29 / /sys/fs/cgroup/systemd rw,nosuid - cgroup cgroup rw,xattr,name=systemd',
].join('\n');

const OWN_V1 = [
  '5:pids:/user',
  '4:memory:/user',
  '3:cpu,cpuacct:/user',
  '1:name=systemd:/user',
].join('\n');

describe('findRunCgroupMoves', () => {
  it("joins the holder's run cgroups in the limit hierarchies, and nothing else", () => {
    const target = [
      '5:pids:/user/polythene-10-20-1',
      '4:memory:/user/polythene-10-20-1',
      '3:cpu,cpuacct:/user',
      '1:name=systemd:/elsewhere/polythene-x',
    ].join('\n');
    expect(
      findRunCgroupMoves(1, { mountinfo: V1_MOUNTS, ownCgroup: OWN_V1, targetCgroup: target }),
    ).toEqual([
      {
        target: '/sys/fs/cgroup/pids/user/polythene-10-20-1',
        own: '/sys/fs/cgroup/pids/user',
        isV2: false,
      },
      {
        target: '/sys/fs/cgroup/memory/user/polythene-10-20-1',
        own: '/sys/fs/cgroup/memory/user',
        isV2: false,
      },
    ]);
  });

  it('never joins a cgroup that is not a run cgroup, nor one hidden by the mount', () => {
    const target = ['5:pids:/system.slice/sshd', '4:memory:/../polythene-1'].join('\n');
    expect(
      findRunCgroupMoves(1, { mountinfo: V1_MOUNTS, ownCgroup: OWN_V1, targetCgroup: target }),
    ).toEqual([]);
  });

  it('joins the one v2 cgroup', () => {
    const mountinfo = '30 25 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw';
    expect(
      findRunCgroupMoves(1, {
        mountinfo,
        ownCgroup: '0::/user.slice/me',
        targetCgroup: '0::/user.slice/polythene-3-4-1',
      }),
    ).toEqual([
      {
        target: '/sys/fs/cgroup/user.slice/polythene-3-4-1',
        own: '/sys/fs/cgroup/user.slice/me',
        isV2: true,
      },
    ]);
  });

  it('finds nothing for a process that is gone', () => {
    expect(findRunCgroupMoves(2 ** 30)).toEqual([]);
  });
});
