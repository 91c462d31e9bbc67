import type { AvailableProbe, RunSpec } from '@polythene/probe';
import { describe, expect, it } from 'vitest';
import { buildProotArgs, extractProotNotices } from './build-proot-args.ts';

const probe: AvailableProbe = {
  available: true,
  version: '5.1.0',
  guarantees: [],
  lost: {},
  details: {},
};
const spec: RunSpec = {
  rootfs: '/store/abc',
  argv: ['/bin/sh', '-c', 'echo hi'],
  env: { PATH: '/bin' },
  cwd: '/srv/app',
  uid: 1000,
  gid: 1001,
  binds: [{ source: '/host/data', target: '/data', readOnly: false }],
  stdio: 'pipe',
  killGraceMs: 1000,
  forwardSignals: true,
  probe,
};
const options = {
  proot: '/usr/bin/proot',
  hasKillOnExit: false,
  isRoot: false,
  devices: ['/dev/null', '/dev/zero'],
  devDir: '/cache/polythene/proot-dev-v1',
};

function findSequence(args: readonly string[], ...sequence: string[]): number {
  return args.findIndex((_, index) =>
    sequence.every((value, offset) => args[index + offset] === value),
  );
}

describe('buildProotArgs', () => {
  it("shows each masked /proc path as the run's own /dev/null, after the /proc bind", () => {
    const { args } = buildProotArgs(spec, {
      ...options,
      maskedProcPaths: ['/proc/sysrq-trigger'],
    });
    const proc = findSequence(args, '-b', '/proc');
    expect(findSequence(args, '-b', '/cache/polythene/proot-dev-v1/null:/proc/sysrq-trigger')).toBe(
      proc + 2,
    );
  });

  it('roots proot in the rootfs with the fake ids, the cwd, a minimal /dev, /proc and binds', () => {
    const { file, args } = buildProotArgs(spec, options);
    expect(file).toBe('/usr/bin/proot');
    expect(findSequence(args, '-r', '/store/abc')).toBeGreaterThanOrEqual(0);
    expect(findSequence(args, '-i', '1000:1001')).toBeGreaterThanOrEqual(0);
    expect(findSequence(args, '-w', '/srv/app')).toBeGreaterThanOrEqual(0);
    // The read-only /dev directory first, then the devices bound onto its files.
    const devAt = findSequence(args, '-b', '/cache/polythene/proot-dev-v1:/dev');
    expect(devAt).toBeGreaterThanOrEqual(0);
    expect(findSequence(args, '-b', '/dev/null')).toBeGreaterThan(devAt);
    expect(findSequence(args, '-b', '/proc')).toBeGreaterThanOrEqual(0);
    expect(findSequence(args, '-b', '/host/data:/data')).toBeGreaterThanOrEqual(0);
    expect(args).not.toContain('/dev');
    expect(args.slice(-3)).toEqual(['/bin/sh', '-c', 'echo hi']);
    expect(args).not.toContain('--kill-on-exit');
  });

  it('emulates root with -0 and keeps its notices (read by the supervisor) in inherit mode', () => {
    const { args } = buildProotArgs({ ...spec, uid: 0, gid: 0, stdio: 'inherit' }, options);
    expect(args).toContain('-0');
    expect(args).not.toContain('-i');
    expect(findSequence(args, '-v', '0')).toBeGreaterThanOrEqual(0);
  });

  it("binds the host's devpts and ptmx for a run on a terminal, never a helpers' directory", () => {
    const { args } = buildProotArgs(spec, { ...options, forTerminal: true });
    expect(findSequence(args, '-b', '/dev/pts', '-b', '/dev/ptmx')).toBeGreaterThan(-1);
    expect(args.some((arg) => arg.includes('.polythene'))).toBe(false);
    expect(buildProotArgs(spec, options).args).not.toContain('/dev/pts');
  });

  it('uses --kill-on-exit when proot has it', () => {
    expect(buildProotArgs(spec, { ...options, hasKillOnExit: true }).args[0]).toBe(
      '--kill-on-exit',
    );
  });

  it('runs under setpriv: dies with polythene, no new privileges, and as root no capabilities', () => {
    const { file, args } = buildProotArgs(spec, {
      ...options,
      setpriv: '/usr/bin/setpriv',
      isRoot: true,
    });
    expect(file).toBe('/usr/bin/setpriv');
    expect(args.slice(0, 7)).toEqual([
      '--pdeathsig',
      'KILL',
      '--no-new-privs',
      '--bounding-set=-all',
      '--inh-caps=-all',
      '--',
      '/usr/bin/proot',
    ]);
    const asUser = buildProotArgs(spec, {
      ...options,
      setpriv: '/usr/bin/setpriv',
      isRoot: false,
    }).args;
    expect(asUser).not.toContain('--bounding-set=-all');
  });
});

describe('extractProotNotices', () => {
  it("removes proot's own notices and reads the command's signal from the lowest pid", () => {
    const stderr = [
      'real error output',
      'proot info: pid 120: terminated with signal 9',
      'proot info: pid 100: terminated with signal 15',
      'proot warning: something',
      'more output',
    ].join('\n');
    expect(extractProotNotices(stderr)).toEqual({
      stderr: 'real error output\nmore output',
      signalNumber: 15,
    });
  });

  it('reports no signal when there is no notice', () => {
    expect(extractProotNotices('plain\n')).toEqual({ stderr: 'plain\n' });
  });
});
