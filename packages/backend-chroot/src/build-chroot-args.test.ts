import {
  type AvailableProbe,
  CONTAINER_DEFAULT_CAPABILITIES,
  type RunSpec,
} from '@polythene/probe';
import { describe, expect, it } from 'vitest';
import {
  buildChrootArgs,
  buildChrootMountTable,
  type ChrootArgsOptions,
} from './build-chroot-args.ts';
import { chrootKeptCapabilities, listDroppedCapabilities } from './chroot-capabilities.ts';

const probe: AvailableProbe = {
  available: true,
  version: '2.38',
  guarantees: [],
  lost: {},
  details: {},
};
const spec: RunSpec = {
  rootfs: '/store/abc',
  argv: ['/bin/sh', '-c', 'echo hi'],
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
const options: ChrootArgsOptions = {
  unshare: '/usr/bin/unshare',
  setpriv: '/usr/bin/setpriv',
  mount: '/usr/bin/mount',
  capsh: '/usr/sbin/capsh',
  sh: '/bin/sh',
  cp: '/bin/cp',
  ip: '',
  namespaces: { net: true, pid: true, ipc: true, uts: true },
  lastCap: 40,
};
const mounts = {
  proc: '/store/abc/proc',
  dev: '/store/abc/dev',
  canCopyDevLinks: true,
  binds: [
    { source: '/host/data', hostTarget: '/store/abc/data', readOnly: true, isDirectory: true },
  ],
};

function findSequence(args: readonly string[], ...sequence: string[]): number {
  return args.findIndex((_, index) =>
    sequence.every((value, offset) => args[index + offset] === value),
  );
}

describe('the capabilities of chroot root', () => {
  it("keeps podman's default set but CAP_SYS_CHROOT, and drops every escape capability", () => {
    const kept = chrootKeptCapabilities();
    expect(kept).toHaveLength(10);
    expect(kept).toEqual(
      CONTAINER_DEFAULT_CAPABILITIES.filter((name) => name !== 'CAP_SYS_CHROOT'),
    );
    const dropped = listDroppedCapabilities(40, kept);
    for (const escapeCapability of [
      'cap_sys_chroot',
      'cap_sys_admin',
      'cap_mknod',
      'cap_sys_module',
      'cap_sys_rawio',
      'cap_dac_read_search',
      'cap_sys_ptrace',
      'cap_net_raw',
      'cap_audit_write',
    ]) {
      expect(dropped).toContain(escapeCapability);
    }
    expect(dropped).not.toContain('cap_chown');
    expect(dropped).not.toContain('cap_dac_override');
    expect(listDroppedCapabilities(37, kept)).not.toContain('cap_checkpoint_restore');
  });

  it('adds what --cap-add asks for within its own namespaces, and refuses the rest with 125', () => {
    expect(chrootKeptCapabilities(['CAP_CHOWN', 'CAP_SYS_CHROOT', 'CAP_NET_RAW'])).toEqual([
      'CAP_CHOWN',
      'CAP_NET_RAW',
    ]);
    expect(() => chrootKeptCapabilities(['CAP_CHOWN', 'CAP_SYS_ADMIN', 'CAP_MKNOD'])).toThrow(
      /^chroot cannot give CAP_SYS_ADMIN, CAP_MKNOD: without a user namespace/,
    );
  });
});

describe('buildChrootArgs', () => {
  it('dies with polythene, forbids new privileges, and unshares every namespace with a private mount namespace', () => {
    const { file, args } = buildChrootArgs(spec, options, mounts);
    expect(file).toBe('/usr/bin/setpriv');
    expect(args.slice(0, 4)).toEqual(['--pdeathsig', 'KILL', '--no-new-privs', '--']);
    expect(args[4]).toBe('/usr/bin/unshare');
    for (const flag of ['--net', '--pid', '--fork', '--kill-child', '--ipc', '--uts', '--mount'])
      expect(args).toContain(flag);
    expect(findSequence(args, '--propagation', 'private')).toBeGreaterThan(0);
    expect(findSequence(args, '/store/abc/proc', '/store/abc/dev')).toBeGreaterThan(0);
    // A plain rootfs's binds are all in the mount table: no bind argument for the script.
    // A network namespace of its own, not a private network: the script does not wait.
    expect(findSequence(args, 'copy', 'own', '--')).toBeGreaterThan(0);
  });

  it('enters as root through capsh, dropping the escape capabilities, the command as its shell', () => {
    const { args } = buildChrootArgs(spec, options, mounts);
    const capsh = args.indexOf('/usr/sbin/capsh');
    expect(args[capsh + 1]).toBe('--chroot=/store/abc');
    expect(args[capsh + 2]).toMatch(/^--drop=.*cap_sys_chroot/);
    expect(args.slice(capsh + 3)).toEqual(['--shell=/bin/sh', '--', '-c', 'echo hi']);
  });

  it('enters another working directory as root through the image shell', () => {
    const { args } = buildChrootArgs({ ...spec, cwd: '/srv' }, options, mounts);
    const capsh = args.indexOf('/usr/sbin/capsh');
    expect(args.slice(capsh + 3)).toEqual([
      '--shell=/bin/sh',
      '--',
      '-c',
      'cd -- "$0" && exec "$@"',
      '/srv',
      '/bin/sh',
      '-c',
      'echo hi',
    ]);
  });

  it('enters as a non-root user with unshare --root/--wd/--setgid/--setuid', () => {
    const { args } = buildChrootArgs(
      { ...spec, uid: 1000, gid: 1001, cwd: '/srv' },
      options,
      mounts,
    );
    expect(args).not.toContain('/usr/sbin/capsh');
    expect(args.slice(-11)).toEqual([
      '/usr/bin/unshare',
      '--root=/store/abc',
      '--wd=/srv',
      '--setgid',
      '1001',
      '--setuid',
      '1000',
      '--',
      '/bin/sh',
      '-c',
      'echo hi',
    ]);
  });

  it('leaves out namespaces the host refuses', () => {
    const { args } = buildChrootArgs(
      spec,
      { ...options, namespaces: { net: false, pid: false, ipc: true, uts: true } },
      mounts,
    );
    expect(args).not.toContain('--net');
    expect(args).not.toContain('--pid');
    expect(args).toContain('--kill-child');
  });

  it('mounts an overlay root on its top-most lower layer and chroots there', () => {
    const overlaySpec: RunSpec = {
      ...spec,
      rootfs: '/store/clone-lower',
      overlay: {
        lowerDirs: ['/store/clone-lower', '/store/base'],
        upperDir: '/store/clone',
        workDir: '/store/.work-clone',
      },
    };
    const { args } = buildChrootArgs(overlaySpec, options, {
      proc: '/proc',
      dev: '/dev',
      canCopyDevLinks: true,
      binds: [{ source: '/host/data', hostTarget: '/data', readOnly: false, isDirectory: true }],
    });
    expect(
      findSequence(
        args,
        '/store/clone-lower',
        '/proc',
        '/dev',
        'unset',
        '',
        'lowerdir=/store/clone-lower:/store/base,upperdir=/store/clone,workdir=/store/.work-clone',
        '/bin/cp',
        '/dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty /dev/ptmx /dev/fd /dev/stdin /dev/stdout /dev/stderr',
        'copy',
        'own',
        '/data',
        'd',
        '--',
      ),
    ).toBeGreaterThan(0);
    expect(args).toContain('--chroot=/store/clone-lower');
  });

  it('passes no overlay options for a plain rootfs', () => {
    const { args } = buildChrootArgs(spec, options, mounts);
    expect(findSequence(args, 'unset', '', '', '/bin/cp')).toBeGreaterThan(0);
  });
});

describe('buildChrootMountTable', () => {
  it('mounts a fresh /proc with /proc/sys read-only, a tmpfs /dev with shm and pts, then the binds', () => {
    const { mountTable } = buildChrootArgs(spec, options, mounts);
    expect(mountTable.split('\n')).toEqual([
      'proc /store/abc/proc proc nosuid,nodev,noexec 0 0',
      '/store/abc/proc/sys /store/abc/proc/sys none bind,ro,nosuid,nodev,noexec 0 0',
      'polythene-dev /store/abc/dev tmpfs mode=755,nosuid,noexec,size=64m 0 0',
      'polythene-shm /store/abc/dev/shm tmpfs mode=1777,nosuid,nodev,size=64m,X-mount.mkdir 0 0',
      'devpts /store/abc/dev/pts devpts newinstance,ptmxmode=0666,mode=620,nosuid,noexec,X-mount.mkdir 0 0',
      '/host/data /store/abc/data none bind,ro 0 0',
      '',
    ]);
  });

  it("binds the helpers' directory read-only into the run's /dev for a run on a terminal", () => {
    const table = buildChrootMountTable(spec, true, {
      ...mounts,
      kernelProcEntries: [],
      helpersDir: '/opt/polythene/bin',
    }).split('\n');
    const pts = table.findIndex((line) => line.startsWith('devpts '));
    expect(table[pts + 1]).toBe(
      '/opt/polythene/bin /store/abc/dev/.polythene none bind,ro,nosuid,nodev,X-mount.mkdir 0 0',
    );
    expect(buildChrootMountTable(spec, true, { ...mounts, kernelProcEntries: [] })).not.toContain(
      '.polythene',
    );
  });

  it("mounts each of the kernel's /proc entries read-only, and no /proc without a pid namespace", () => {
    const table = buildChrootMountTable(spec, true, {
      ...mounts,
      kernelProcEntries: ['sys', 'sysrq-trigger', 'irq'],
    }).split('\n');
    expect(table.slice(1, 4)).toEqual(
      ['sys', 'sysrq-trigger', 'irq'].map(
        (name) =>
          `/store/abc/proc/${name} /store/abc/proc/${name} none bind,ro,nosuid,nodev,noexec 0 0`,
      ),
    );
    const withoutPid = buildChrootMountTable(spec, false, {
      ...mounts,
      kernelProcEntries: ['sys'],
    });
    expect(withoutPid).not.toContain('proc');
  });

  it('writes blanks, backslashes and # in paths as octal escapes', () => {
    const table = buildChrootMountTable(spec, false, {
      ...mounts,
      kernelProcEntries: [],
      binds: [
        { source: '#/a b\tc\\', hostTarget: '/store/abc/x\ny', readOnly: false, isDirectory: true },
      ],
    });
    expect(table.split('\n').at(-2)).toBe(
      '\\043/a\\040b\\011c\\134 /store/abc/x\\012y none bind 0 0',
    );
  });

  it('gives an overlay root its targets as paths inside the root, resolved as the script does', () => {
    const overlaySpec: RunSpec = {
      ...spec,
      overlay: { lowerDirs: ['/store/top', '/store/base'], upperDir: '/u', workDir: '/w' },
    };
    const table = buildChrootMountTable(overlaySpec, true, {
      proc: '/proc',
      dev: '/dev',
      kernelProcEntries: [],
      binds: [
        { source: '/host/data', hostTarget: '//srv/./data/', readOnly: false, isDirectory: true },
      ],
    });
    expect(table).toContain('proc /store/top/proc proc');
    expect(table).toContain('polythene-dev /store/top/dev tmpfs');
    expect(table).toContain('/host/data /store/top/srv/data none bind 0 0');
  });
});
