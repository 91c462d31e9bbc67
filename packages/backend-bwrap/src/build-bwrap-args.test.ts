import type { AvailableProbe, RunSpec } from '@polythene/probe';
import { describe, expect, it } from 'vitest';
import { buildBwrapArgs, buildBwrapCommandLine } from './build-bwrap-args.ts';
import { parseBwrapStatus } from './parse-bwrap-status.ts';
import { planBwrapRun } from './plan-bwrap-run.ts';

const probe: AvailableProbe = {
  available: true,
  version: '0.8.0',
  guarantees: [],
  lost: {},
  details: {},
};
const spec: RunSpec = {
  rootfs: '/store/abc',
  argv: ['/bin/sh', '-c', 'echo hi'],
  env: { PATH: '/bin', SECRET_GIVEN: 'on purpose' },
  cwd: '/srv/app',
  uid: 1000,
  gid: 1000,
  binds: [
    { source: '/host/data', target: '/data', readOnly: false },
    { source: '/host/conf', target: '/etc/conf', readOnly: true },
  ],
  stdio: 'pipe',
  killGraceMs: 1000,
  forwardSignals: true,
  probe,
};

const overlay = {
  lowerDirs: ['/store/clone', '/store/base'],
  upperDir: '/store/box/upper',
  workDir: '/store/box/work',
};
const overlayOptions =
  'lowerdir=/store/clone:/store/base,upperdir=/store/box/upper,workdir=/store/box/work';
const helpers = {
  bwrap: '/usr/bin/bwrap',
  setpriv: '/usr/bin/setpriv',
  unshare: '/usr/bin/unshare',
  mount: '/usr/bin/mount',
  sh: '/bin/sh',
};

/** Index of `flag` followed by `values` in `args`, or -1. */
function findSequence(args: readonly string[], ...sequence: string[]): number {
  return args.findIndex((_, index) =>
    sequence.every((value, offset) => args[index + offset] === value),
  );
}

describe('planBwrapRun', () => {
  it('runs root as root without a user namespace', () => {
    expect(planBwrapRun({ uid: 0, gid: 0 }, true)).toEqual({
      usesUserNamespace: false,
      dropsToImageUser: false,
      overlayMount: 'none',
    });
  });
  it('maps ids through a user namespace for non-root callers', () => {
    expect(planBwrapRun({ uid: 0, gid: 0 }, false)).toEqual({
      usesUserNamespace: true,
      dropsToImageUser: false,
      overlayMount: 'none',
    });
  });
  it('drops root to a non-root image user', () => {
    expect(planBwrapRun({ uid: 1000, gid: 1000 }, true)).toEqual({
      usesUserNamespace: true,
      dropsToImageUser: true,
      overlayMount: 'none',
    });
  });
  it("mounts an overlay as root when root, else in the caller's own user namespace", () => {
    expect(planBwrapRun({ uid: 0, gid: 0, overlay }, true).overlayMount).toBe('as-root');
    expect(planBwrapRun({ uid: 1000, gid: 1000, overlay }, true).overlayMount).toBe('as-root');
    expect(planBwrapRun({ uid: 0, gid: 0, overlay }, false).overlayMount).toBe('in-user-namespace');
  });
});

describe('buildBwrapArgs', () => {
  const args = buildBwrapArgs(spec, planBwrapRun(spec, false));

  it('binds the rootfs read-write on / with a fresh /proc and a minimal /dev, and no tmpfs on /tmp', () => {
    expect(args.slice(0, 3)).toEqual(['--bind', '/store/abc', '/']);
    expect(findSequence(args, '--proc', '/proc')).toBeGreaterThan(0);
    expect(findSequence(args, '--dev', '/dev')).toBeGreaterThan(0);
    expect(args).not.toContain('--tmpfs');
    expect(args).not.toContain('--dev-bind');
  });

  it('unshares every namespace, drops capabilities, starts a new session, dies with its parent', () => {
    for (const flag of [
      '--unshare-net',
      '--unshare-pid',
      '--unshare-ipc',
      '--unshare-uts',
      '--new-session',
      '--die-with-parent',
    ]) {
      expect(args).toContain(flag);
    }
    expect(findSequence(args, '--cap-drop', 'ALL')).toBeGreaterThan(0);
    expect(findSequence(args, '--unshare-user', '--uid', '1000', '--gid', '1000')).toBeGreaterThan(
      0,
    );
  });

  it('clears the environment and sets exactly the given one, after --clearenv', () => {
    const clear = args.indexOf('--clearenv');
    expect(clear).toBeGreaterThan(0);
    expect(findSequence(args, '--setenv', 'PATH', '/bin')).toBeGreaterThan(clear);
    expect(findSequence(args, '--setenv', 'SECRET_GIVEN', 'on purpose')).toBeGreaterThan(clear);
    expect(args.filter((arg) => arg === '--setenv')).toHaveLength(2);
  });

  it('changes to the working directory and adds binds read-write and read-only', () => {
    expect(findSequence(args, '--chdir', '/srv/app')).toBeGreaterThan(0);
    expect(findSequence(args, '--bind', '/host/data', '/data')).toBeGreaterThan(0);
    expect(findSequence(args, '--ro-bind', '/host/conf', '/etc/conf')).toBeGreaterThan(0);
    expect(findSequence(args, '--json-status-fd', '4')).toBeGreaterThan(0);
  });

  it('as root with uid 0 uses no user namespace', () => {
    const rootArgs = buildBwrapArgs(
      { ...spec, uid: 0, gid: 0 },
      planBwrapRun({ uid: 0, gid: 0 }, true),
    );
    expect(rootArgs).not.toContain('--unshare-user');
    expect(rootArgs).toContain('--cap-drop');
  });

  it('binds device copies over the minimal /dev when given them', () => {
    const rootArgs = buildBwrapArgs(
      { ...spec, uid: 0, gid: 0 },
      planBwrapRun({ uid: 0, gid: 0 }, true),
      undefined,
      { dir: '/dev/shm/copies', names: ['null', 'tty'] },
    );
    const dev = findSequence(rootArgs, '--dev', '/dev');
    expect(rootArgs.slice(dev + 2, dev + 8)).toEqual([
      '--dev-bind',
      '/dev/shm/copies/null',
      '/dev/null',
      '--dev-bind',
      '/dev/shm/copies/tty',
      '/dev/tty',
    ]);
    expect(buildBwrapArgs(spec, planBwrapRun(spec, false))).not.toContain('--dev-bind');
  });

  it('as root dropping to the image user binds the staged rootfs and sources', () => {
    const staged = buildBwrapArgs(spec, planBwrapRun(spec, true), '/tmp/stage');
    expect(staged.slice(0, 3)).toEqual(['--bind', '/tmp/stage/rootfs', '/']);
    expect(findSequence(staged, '--bind', '/tmp/stage/bind-0', '/data')).toBeGreaterThan(0);
    expect(findSequence(staged, '--ro-bind', '/tmp/stage/bind-1', '/etc/conf')).toBeGreaterThan(0);
  });
});

describe('buildBwrapCommandLine', () => {
  it('passes options through fd 3 and the command after --, never env values', () => {
    const line = buildBwrapCommandLine(spec, planBwrapRun(spec, false), {
      bwrap: '/usr/bin/bwrap',
    });
    expect(line).toEqual({
      file: '/usr/bin/bwrap',
      args: ['--args', '3', '--', '/bin/sh', '-c', 'echo hi'],
    });
  });

  it('as root stages in a private mount namespace and drops to the image user with setpriv', () => {
    const line = buildBwrapCommandLine(spec, planBwrapRun(spec, true), {
      bwrap: '/usr/bin/bwrap',
      setpriv: '/usr/bin/setpriv',
      unshare: '/usr/bin/unshare',
      mount: '/usr/bin/mount',
      sh: '/bin/sh',
      stagingDir: '/tmp/stage',
    });
    expect(line.file).toBe('/usr/bin/unshare');
    expect(line.args.slice(0, 4)).toEqual(['--mount', '--propagation', 'private', '--']);
    expect(
      findSequence(line.args, '/usr/bin/setpriv', '--reuid=1000', '--regid=1000', '--clear-groups'),
    ).toBeGreaterThan(0);
    expect(line.args.slice(-6)).toEqual(
      ['/usr/bin/bwrap', '--args', '3', '--', '/bin/sh', '-c', 'echo hi'].slice(-6),
    );
    expect(line.args.join(' ')).not.toContain('on purpose');
  });
});

describe('overlay roots', () => {
  const overlaySpec: RunSpec = { ...spec, rootfs: '/store/clone', overlay };

  it('binds the overlay mount point (its top-most lower layer) on /', () => {
    const args = buildBwrapArgs(overlaySpec, planBwrapRun(overlaySpec, false));
    expect(args.slice(0, 3)).toEqual(['--bind', '/store/clone', '/']);
  });

  it('as root with uid 0 mounts the overlay without userxattr in a private mount namespace', () => {
    const rootSpec = { ...overlaySpec, uid: 0, gid: 0 };
    const line = buildBwrapCommandLine(rootSpec, planBwrapRun(rootSpec, true), helpers);
    expect(line.file).toBe('/usr/bin/unshare');
    expect(line.args.slice(0, 4)).toEqual(['--mount', '--propagation', 'private', '--']);
    expect(
      findSequence(
        line.args,
        '/usr/bin/mount',
        '/store/clone',
        '/store/clone',
        overlayOptions,
        '',
        '--',
      ),
    ).toBeGreaterThan(0);
    expect(line.args.slice(-7)).toEqual([
      '/usr/bin/bwrap',
      '--args',
      '3',
      '--',
      '/bin/sh',
      '-c',
      'echo hi',
    ]);
  });

  it('unprivileged mounts it with userxattr in its own user namespace, then starts bwrap there', () => {
    const line = buildBwrapCommandLine(overlaySpec, planBwrapRun(overlaySpec, false), helpers);
    expect(line.args.slice(0, 6)).toEqual([
      '--user',
      '--map-root-user',
      '--mount',
      '--propagation',
      'private',
      '--',
    ]);
    expect(line.args).toContain(`${overlayOptions},userxattr`);
    expect(line.args).not.toContain('/usr/bin/setpriv');
  });

  it('as root for a non-root image user mounts it on the staging dir, then drops with setpriv', () => {
    const line = buildBwrapCommandLine(overlaySpec, planBwrapRun(overlaySpec, true), {
      ...helpers,
      stagingDir: '/tmp/stage',
    });
    expect(line.args.slice(0, 4)).toEqual(['--mount', '--propagation', 'private', '--']);
    expect(
      findSequence(
        line.args,
        '/tmp/stage/rootfs',
        '/store/clone',
        overlayOptions,
        '/tmp/stage',
        '/host/data',
      ),
    ).toBeGreaterThan(0);
    expect(findSequence(line.args, '/usr/bin/setpriv', '--reuid=1000')).toBeGreaterThan(0);
    const args = buildBwrapArgs(overlaySpec, planBwrapRun(overlaySpec, true), '/tmp/stage');
    expect(args.slice(0, 3)).toEqual(['--bind', '/tmp/stage/rootfs', '/']);
  });
});

describe('parseBwrapStatus', () => {
  it('reads the child pid and the exit code, ignoring junk and a line still being written', () => {
    const text = '{ "child-pid": 42, "net-namespace": 1 }\nnot json\n{ "exit-code": 143 }\n{ "exi';
    expect(parseBwrapStatus(text)).toEqual({ childPid: 42, exitCode: 143 });
  });

  it('is empty before bwrap wrote anything', () => {
    expect(parseBwrapStatus('')).toEqual({});
  });
});
