import type { AvailableProbe, IdMap, RunSpec } from '@polythene/probe';
import { describe, expect, it } from 'vitest';
import { buildBwrapArgs, buildBwrapCommandLine } from './build-bwrap-args.ts';
import { findHelperOverlay, planBwrapRun } from './plan-bwrap-run.ts';

const probe: AvailableProbe = {
  available: true,
  version: '0.8.0',
  guarantees: [],
  lost: {},
  details: {},
};
const spec: RunSpec = {
  rootfs: '/store/abc',
  argv: ['/bin/sh', '-c', 'id'],
  env: { PATH: '/bin' },
  cwd: '/',
  uid: 0,
  gid: 0,
  binds: [],
  stdio: 'pipe',
  killGraceMs: 1000,
  forwardSignals: true,
  probe,
};
const overlay = { lowerDirs: ['/store/base'], upperDir: '/box/upper', workDir: '/box/work' };
const rootMap: IdMap = { uidMap: '0 0 65536', gidMap: '0 0 65536' };
const userMap: IdMap = {
  uidMap: '0 1001 1 1 100000 65535',
  gidMap: '0 1001 1 1 100000 65535',
  newuidmap: '/usr/bin/newuidmap',
  newgidmap: '/usr/bin/newgidmap',
};
const paths = {
  bwrap: '/usr/bin/bwrap',
  unshare: '/usr/bin/unshare',
  mount: '/usr/bin/mount',
  sh: '/bin/sh',
  userns: '/opt/polythene-userns',
};

describe('a uid-0 run with an id map', () => {
  it('runs bwrap as root of the mapped namespace: no --unshare-user, the container caps', () => {
    const plan = planBwrapRun(spec, true, rootMap);
    expect(plan).toMatchObject({ usesUserNamespace: false, dropsToImageUser: false });
    const args = buildBwrapArgs(spec, plan);
    expect(args).not.toContain('--unshare-user');
    const caps = args.flatMap((arg, i) => (arg === '--cap-add' ? [args[i + 1]] : []));
    expect(caps).toHaveLength(11);
    expect(caps).toContain('CAP_SYS_CHROOT');
    expect(caps).not.toContain('CAP_SYS_ADMIN');
    expect(args.indexOf('--cap-drop')).toBeLessThan(args.indexOf('--cap-add'));
    // For files the identity-mapped root is the host's: /proc/sys stays read-only.
    expect(args.join(' ')).toContain('--ro-bind /proc/sys /proc/sys');
  });

  it('gives the capabilities the spec names instead', () => {
    const plan = planBwrapRun(spec, true, rootMap);
    const args = buildBwrapArgs({ ...spec, capabilities: ['CAP_KILL'] }, plan);
    expect(args.filter((arg) => arg === '--cap-add')).toHaveLength(1);
  });

  it('keeps a non-root image user in the mapped namespace: bwrap as its root, the become capabilities added', () => {
    const plan = planBwrapRun({ ...spec, uid: 1000, gid: 1000 }, true, rootMap);
    expect(plan).toMatchObject({ idMap: rootMap, becomesUser: true, usesUserNamespace: false });
    const args = buildBwrapArgs({ ...spec, uid: 1000, gid: 1000 }, plan);
    expect(args).not.toContain('--unshare-user');
    expect(args).not.toContain('--uid');
    const caps = args.flatMap((arg, i) => (arg === '--cap-add' ? [args[i + 1]] : []));
    // SETGID, SETUID and SETPCAP are in the eleven already: nothing beyond them.
    expect(caps).toHaveLength(11);
    const fewer = buildBwrapArgs(
      { ...spec, uid: 1000, gid: 1000, capabilities: ['CAP_KILL'] },
      plan,
    );
    expect(fewer.flatMap((arg, i) => (arg === '--cap-add' ? [fewer[i + 1]] : []))).toEqual([
      'CAP_KILL',
      'CAP_SETPCAP',
      'CAP_SETGID',
      'CAP_SETUID',
    ]);
  });

  it('with no network, the helper makes the network namespace (ping_group_range), not bwrap', () => {
    const plan = planBwrapRun(spec, true, rootMap);
    expect(buildBwrapArgs(spec, plan)).not.toContain('--unshare-net');
    expect(buildBwrapCommandLine(spec, plan, paths).args).toContain('--own-network');
    const host = { ...spec, network: { mode: 'host' as const, publish: [] } };
    expect(buildBwrapCommandLine(host, plan, paths).args).not.toContain('--own-network');
    const plain = planBwrapRun(spec, true, undefined);
    expect(buildBwrapArgs(spec, plain)).toContain('--unshare-net');
  });

  it('as root: the helper mounts the overlay (as the host root), then maps the ids', () => {
    const plan = planBwrapRun({ ...spec, overlay }, true, rootMap);
    const line = buildBwrapCommandLine({ ...spec, overlay }, plan, paths);
    // One helper, no unshare + sh + mount in front.
    expect(line.file).toBe('/opt/polythene-userns');
    const overlayAt = line.args.indexOf('--overlay');
    expect(line.args.slice(0, overlayAt)).toEqual([
      '--uid-map',
      '0 0 65536',
      '--gid-map',
      '0 0 65536',
      '--own-network',
    ]);
    expect(line.args[overlayAt + 1]).toMatch(/^lowerdir=.*,upperdir=.*,workdir=[^,]*$/);
    expect(line.args[overlayAt + 2]).toBe(overlay.lowerDirs[0]);
    expect(line.args[overlayAt + 3]).toBe('--');
    expect(line.args[overlayAt + 4]).toBe('/usr/bin/bwrap');
    expect(findHelperOverlay({ ...spec, overlay }, plan)?.options).not.toContain('userxattr');
  });

  it('as root without an overlay: the helper starts bwrap', () => {
    const plan = planBwrapRun(spec, true, rootMap);
    const line = buildBwrapCommandLine(spec, plan, paths);
    expect(line.file).toBe('/opt/polythene-userns');
    expect(line.args.slice(-6)).toEqual(['--args', '3', '--', '/bin/sh', '-c', 'id']);
  });

  it('unprivileged: no helper in the argv (the exec guard maps and mounts), overlay with userxattr', () => {
    const plan = planBwrapRun({ ...spec, overlay }, false, userMap);
    const line = buildBwrapCommandLine({ ...spec, overlay }, plan, paths);
    expect(line.file).toBe('/usr/bin/bwrap');
    expect(line.args).not.toContain('/opt/polythene-userns');
    expect(line.args).not.toContain('/usr/bin/unshare');
    expect(findHelperOverlay({ ...spec, overlay }, plan)?.options).toMatch(/,userxattr$/);
  });
});
