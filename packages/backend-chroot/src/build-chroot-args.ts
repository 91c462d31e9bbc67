import {
  BOX_HELPERS_DIR,
  MINIMAL_DEVICES,
  type OverlayLayers,
  type RunSpec,
} from '@polythene/probe';
import { chrootKeptCapabilities, listDroppedCapabilities } from './chroot-capabilities.ts';

/** Host tools and facts the chroot argv depends on (from the probe). */
export interface ChrootArgsOptions {
  /** util-linux `unshare`. */
  readonly unshare: string;
  /** util-linux `setpriv` (parent-death signal and no_new_privs), when present. */
  readonly setpriv?: string;
  /** `mount`. */
  readonly mount: string;
  /** libcap's `capsh`. */
  readonly capsh: string;
  /** A POSIX shell on the host. */
  readonly sh: string;
  /** coreutils' `cp`: builds `/dev` in one process. */
  readonly cp: string;
  /** iproute2's `ip`, to bring loopback up in the new network namespace; '' when missing. */
  readonly ip: string;
  /** Namespaces the host lets root create (others are reported lost by the probe). */
  readonly namespaces: {
    readonly net: boolean;
    readonly pid: boolean;
    readonly ipc: boolean;
    readonly uts: boolean;
  };
  /** The kernel's highest capability number (`/proc/sys/kernel/cap_last_cap`). */
  readonly lastCap: number;
}

/** A mount the set-up script performs, with host paths already resolved inside the rootfs. */
export interface ChrootMount {
  /** Host source path. */
  readonly source: string;
  /**
   * Host path of the target inside the rootfs (resolved: no symlink left to follow); with an
   * overlay root, the path inside the root, which the set-up script resolves in the overlay.
   */
  readonly hostTarget: string;
  /** Remount read-only after binding. */
  readonly readOnly: boolean;
  /** True when the source is a directory (the target is then created as one). */
  readonly isDirectory: boolean;
}

/**
 * overlayfs mount options for `layers` (root mounts it: overlayfs keeps its metadata in
 * `trusted.overlay.*` xattrs and writes whiteouts as 0:0 character devices).
 */
export function buildOverlayOptions(layers: OverlayLayers): string {
  return [
    `lowerdir=${layers.lowerDirs.join(':')}`,
    `upperdir=${layers.upperDir}`,
    `workdir=${layers.workDir}`,
  ].join(',');
}

/** The directory the command is chrooted into: an overlay is mounted on its top-most lower. */
export function findChrootRoot(spec: Pick<RunSpec, 'rootfs' | 'overlay'>): string {
  return spec.overlay?.lowerDirs[0] ?? spec.rootfs;
}

// The set-up script. It runs as root, as pid 1 of the new pid namespace, in a private mount
// namespace: nothing it mounts is visible on the host, and everything goes when it exits.
// It stays pid 1 (the command runs as its child) because pid 1 ignores signals it has no
// handler for: the command must not be pid 1, or SIGTERM could not end it.
// Every program it runs is a fork and an exec, about 0.5 ms each: all the mounts are one
// `mount --all` of the table on fd 4 (see buildChrootMountTable), and /dev's contents one
// `cp -a`.
// With an overlay root, the overlay is mounted on the rootfs path first (overlayfs resolved
// its layers already, so covering the top-most lower one is fine) and mount targets are given
// as paths inside the root: they are created in the overlay (so in its upper layer, never in
// a lower one) and refused when they pass through a symlink, which could point anywhere.
const setupScript = `set -e
mount_bin=$1; ip_bin=$2; rootfs=$3; proc=$4; dev=$5; pwd_mode=$6; pwd_value=$7; overlay=$8; cp_bin=$9; dev_sources=\${10}; dev_links=\${11}; network=\${12}; shift 12
# Tools run by name (ln) are the host's, found on its usual PATH, not on the command's; the
# command gets its own PATH back (or none) below.
command_path=\${PATH-}; has_command_path=\${PATH+yes}
PATH=/usr/sbin:/usr/bin:/sbin:/bin
prepare() {
  target=$rootfs; rest=\${1#/}
  while [ -n "$rest" ]; do
    part=\${rest%%/*}
    case $rest in */*) rest=\${rest#*/} ;; *) rest= ;; esac
    if [ -z "$part" ] || [ "$part" = . ]; then continue; fi
    if [ "$part" = .. ]; then echo "polythene: mount target $1 contains .." >&2; exit 1; fi
    target=$target/$part
    if [ -L "$target" ]; then
      echo "polythene: mount target $1 passes through a symlink in the overlay root; bind to the path it points to" >&2
      exit 1
    fi
    if [ ! -e "$target" ]; then
      if [ -z "$rest" ] && [ "$2" = f ]; then : > "$target"; else mkdir "$target"; fi
    fi
  done
}
if [ -n "$overlay" ]; then
  "$mount_bin" -t overlay -o "$overlay" overlay "$rootfs"
  if [ -n "$proc" ]; then prepare "$proc" d; fi
  prepare "$dev" d; dev=$target
  while [ "$1" != -- ]; do prepare "$1" "$2"; shift 2; done
fi
shift
# A fresh /proc with /proc/sys read-only (the command is root: it could retune the host
# kernel), a tmpfs /dev with its own shm and pts, then the binds.
"$mount_bin" --all --fstab /proc/self/fd/4
exec 4<&-
# The device nodes (made with mknod, as the host's) and, when the host's are the usual ones,
# ptmx and the /proc/self/fd links.
"$cp_bin" -a $dev_sources "$dev"
if [ "$dev_links" = make ]; then
  ln -s /proc/self/fd "$dev/fd"; ln -s /proc/self/fd/0 "$dev/stdin"
  ln -s /proc/self/fd/1 "$dev/stdout"; ln -s /proc/self/fd/2 "$dev/stderr"
  ln -s pts/ptmx "$dev/ptmx"
fi
if [ -n "$ip_bin" ]; then "$ip_bin" link set lo up 2>/dev/null || true; fi
# In the box's own network namespace, as podman does: group 0 may ping without CAP_NET_RAW.
if [ "$network" = own ] || [ "$network" = wait ]; then
  echo "0 0" > /proc/sys/net/ipv4/ping_group_range
fi
# --network private: name this process (its host pid: /proc here is still the host's, and a
# builtin's redirection opens /proc/self in the shell itself) as the holder of the box's
# network namespace, then wait on fd 5 until polythene has attached slirp4netns to it. Any
# user may bind any port in the box's own namespace, as in podman (and bwrap's private).
if [ "$network" = wait ]; then
  echo 0 > /proc/sys/net/ipv4/ip_unprivileged_port_start
  read -r host_pid _ < /proc/self/stat
  echo "netns $host_pid" >&3
  read -r _ <&5 || true
  exec 5<&-
fi
if [ -n "$has_command_path" ]; then PATH=$command_path; else unset PATH; fi
# The shell exports its own PWD: give the command the one it was given, or none.
if [ "$pwd_mode" = keep ]; then export PWD="$pwd_value"; else unset PWD; fi
echo ready >&3
exec 3>&-
set +e
# dash reports a command a signal ended ("Killed") on its own stderr, with the command's
# redirections still in force: this shell's stderr is /dev/null from here, and the command
# runs in a subshell that becomes it (exec) with the real stderr, and no fd 6.
exec 6>&2 2>/dev/null
( exec "$@" 2>&6 6>&- )
exit $?`;

/** Host facts about `/dev` the set-up script needs. */
export interface ChrootHostDev {
  /** The host's minimal devices to copy (those that exist: `listHostDevices()`). */
  readonly devices: readonly string[];
  /**
   * True when the host's `/dev/fd`, `stdin`, `stdout`, `stderr` and `ptmx` are the usual
   * ones (`hasUsualDevLinks`): they are then copied with the devices, else made.
   */
  readonly canCopyDevLinks: boolean;
  /**
   * The entries of `/proc` through which root changes the host kernel (`sys`,
   * `sysrq-trigger`, `irq`, `bus`) that this kernel has: each is mounted read-only, as bwrap
   * and Docker do.
   */
  readonly kernelProcEntries: readonly string[];
}

/** The entries of `/proc` mounted read-only when the kernel has them (see ChrootHostDev). */
export const KERNEL_PROC_ENTRIES: readonly string[] = ['sys', 'sysrq-trigger', 'irq', 'bus'];

// fstab fields are separated by blanks, and a line starting with # is a comment: such
// characters (and the escape itself) are written as the octal escapes libmount reads back.
function escapeMountTableField(field: string): string {
  return field.replace(
    /[\s\\#]/g,
    (char) => `\\${char.charCodeAt(0).toString(8).padStart(3, '0')}`,
  );
}

// The host path the set-up script's `prepare` gives a path inside an overlay root.
function pathInRoot(root: string, target: string): string {
  const parts = target.split('/').filter((part) => part !== '' && part !== '.');
  return [root, ...parts].join('/');
}

/**
 * The mount table the set-up script mounts with one `mount --all`, in order: a fresh `/proc`
 * (with a pid namespace) with its kernel entries (`/proc/sys`, …) read-only, a tmpfs `/dev`
 * with a tmpfs `shm` and a new devpts instance on `pts`, then the binds (read-only ones
 * remounted so by mount itself).
 */
export function buildChrootMountTable(
  spec: Pick<RunSpec, 'rootfs' | 'overlay'>,
  hasPidNamespace: boolean,
  mounts: {
    readonly proc: string;
    readonly dev: string;
    readonly binds: readonly ChrootMount[];
    readonly kernelProcEntries: readonly string[];
    /** Host directory of polythene's helpers, bound read-only at `/dev/.polythene` (`--tty`). */
    readonly helpersDir?: string;
  },
): string {
  const root = findChrootRoot(spec);
  const onHost = (target: string): string =>
    spec.overlay === undefined ? target : pathInRoot(root, target);
  const proc = onHost(mounts.proc);
  const dev = onHost(mounts.dev);
  const lines: string[][] = [];
  if (hasPidNamespace) {
    lines.push(['proc', proc, 'proc', 'nosuid,nodev,noexec']);
    for (const name of mounts.kernelProcEntries) {
      const entry = `${proc}/${name}`;
      lines.push([entry, entry, 'none', 'bind,ro,nosuid,nodev,noexec']);
    }
  }
  lines.push(['polythene-dev', dev, 'tmpfs', 'mode=755,nosuid,noexec,size=64m']);
  lines.push([
    'polythene-shm',
    `${dev}/shm`,
    'tmpfs',
    'mode=1777,nosuid,nodev,size=64m,X-mount.mkdir',
  ]);
  lines.push([
    'devpts',
    `${dev}/pts`,
    'devpts',
    'newinstance,ptmxmode=0666,mode=620,nosuid,noexec,X-mount.mkdir',
  ]);
  if (mounts.helpersDir !== undefined) {
    // In the run's tmpfs /dev, so nothing is made in the image for it.
    lines.push([
      mounts.helpersDir,
      `${dev}${BOX_HELPERS_DIR.slice('/dev'.length)}`,
      'none',
      'bind,ro,nosuid,nodev,X-mount.mkdir',
    ]);
  }
  for (const bind of mounts.binds) {
    lines.push([bind.source, onHost(bind.hostTarget), 'none', bind.readOnly ? 'bind,ro' : 'bind']);
  }
  return lines.map((fields) => `${fields.map(escapeMountTableField).join(' ')} 0 0\n`).join('');
}

/**
 * Builds the argv for one chroot run: `setpriv` (die with polythene, no new privileges) →
 * `unshare` (own net/pid/ipc/uts/mount namespaces, the pid namespace's init killed with
 * `unshare`) → the set-up script (fresh `/proc`, minimal tmpfs `/dev`, binds) → the command,
 * entered so that a root process cannot leave the chroot:
 * - uid 0: `capsh --chroot` then drops `cap_sys_chroot` and every other escape capability
 *   from the bounding set before it execs the command; capsh changes to `/`, so another
 *   working directory is entered through the image's `/bin/sh` (`cd` then `exec`);
 * - other uids: `unshare --root --wd --setgid --setuid`, which leaves no capability at all.
 *
 * The script reads `mountTable` (see {@link buildChrootMountTable}) from a file on its fd 4,
 * and writes "ready" to its fd 3 just before it starts the command.
 */
export function buildChrootArgs(
  spec: RunSpec,
  options: ChrootArgsOptions,
  mounts: {
    readonly proc: string;
    readonly dev: string;
    readonly binds: readonly ChrootMount[];
    /** See {@link buildChrootMountTable}. */
    readonly helpersDir?: string;
  } & Partial<ChrootHostDev> &
    Pick<ChrootHostDev, 'canCopyDevLinks'>,
): { file: string; args: string[]; mountTable: string } {
  const { namespaces } = options;
  const unshareArgs = [
    ...(namespaces.net ? ['--net'] : []),
    ...(namespaces.pid ? ['--pid', '--fork', '--kill-child'] : ['--fork', '--kill-child']),
    ...(namespaces.ipc ? ['--ipc'] : []),
    ...(namespaces.uts ? ['--uts'] : []),
    '--mount',
    '--propagation',
    'private',
    '--',
  ];
  const root = findChrootRoot(spec);
  const devSources = [
    ...(mounts.devices ?? MINIMAL_DEVICES),
    ...(mounts.canCopyDevLinks
      ? ['/dev/ptmx', '/dev/fd', '/dev/stdin', '/dev/stdout', '/dev/stderr']
      : []),
  ];
  const scriptArgs = [
    options.mount,
    options.ip,
    root,
    namespaces.pid ? mounts.proc : '',
    mounts.dev,
    spec.env.PWD === undefined ? 'unset' : 'keep',
    spec.env.PWD ?? '',
    spec.overlay === undefined ? '' : buildOverlayOptions(spec.overlay),
    options.cp,
    // Fixed /dev paths: the script splits them on spaces.
    devSources.join(' '),
    mounts.canCopyDevLinks ? 'copy' : 'make',
    // `wait`: block on fd 5 until the private network is attached (see the script); `own`:
    // a network namespace of its own; empty: the host's.
    spec.network?.mode === 'private' ? 'wait' : namespaces.net ? 'own' : '',
    // With an overlay, the targets the script creates in it before mounting.
    ...(spec.overlay === undefined
      ? []
      : mounts.binds.flatMap((bind) => [bind.hostTarget, bind.isDirectory ? 'd' : 'f'])),
    '--',
  ];
  const isRootCommand = spec.uid === 0 && spec.gid === 0;
  const [program, ...programArgs] = spec.argv;
  const enter = isRootCommand
    ? [
        options.capsh,
        `--chroot=${root}`,
        `--drop=${listDroppedCapabilities(options.lastCap, chrootKeptCapabilities(spec.capabilities)).join(',')}`,
        ...(spec.cwd === '/'
          ? [`--shell=${program}`, '--', ...programArgs]
          : ['--shell=/bin/sh', '--', '-c', 'cd -- "$0" && exec "$@"', spec.cwd, ...spec.argv]),
      ]
    : [
        options.unshare,
        `--root=${root}`,
        `--wd=${spec.cwd}`,
        '--setgid',
        String(spec.gid),
        '--setuid',
        String(spec.uid),
        '--',
        ...spec.argv,
      ];
  const inner = [
    options.unshare,
    ...unshareArgs,
    options.sh,
    '-c',
    setupScript,
    'polythene-chroot',
    ...scriptArgs,
    ...enter,
  ];
  const mountTable = buildChrootMountTable(spec, namespaces.pid, {
    proc: mounts.proc,
    dev: mounts.dev,
    binds: mounts.binds,
    kernelProcEntries: mounts.kernelProcEntries ?? ['sys'],
    ...(mounts.helpersDir === undefined ? {} : { helpersDir: mounts.helpersDir }),
  });
  if (options.setpriv === undefined) {
    return { file: inner[0] as string, args: inner.slice(1), mountTable };
  }
  return {
    file: options.setpriv,
    args: ['--pdeathsig', 'KILL', '--no-new-privs', '--', ...inner],
    mountTable,
  };
}
