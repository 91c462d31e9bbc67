import type { RunSpec } from '@polythene/probe';

/** How bwrap is started for one run, as decided by {@link planBwrapRun}. */
export interface BwrapRunPlan {
  /**
   * True when bwrap creates a user namespace that maps the caller's uid to the requested
   * uid/gid: always as non-root, and as root for a non-root image user.
   */
  readonly usesUserNamespace: boolean;
  /**
   * True when root first drops to the image user with setpriv, so the host sees that uid (not
   * root) own what the command writes and the image's own files keep their owners. The
   * unprivileged bwrap could not traverse a 0700 store, so the rootfs and bind sources are
   * first bind-mounted, in a private mount namespace, under a traversable staging directory.
   */
  readonly dropsToImageUser: boolean;
}

/** File descriptors of the bwrap process, fixed so the argv builder stays pure. */
export const BWRAP_FDS: { readonly args: number; readonly status: number } = { args: 3, status: 4 };

/** Host tools root needs to drop to the image user. */
export interface BwrapHelperPaths {
  /** bwrap itself. */
  readonly bwrap: string;
  /** util-linux setpriv. */
  readonly setpriv?: string;
  /** util-linux unshare. */
  readonly unshare?: string;
  /** util-linux mount. */
  readonly mount?: string;
  /** A POSIX shell. */
  readonly sh?: string;
  /**
   * The staging directory (traversable by the image user) where the rootfs is mounted at
   * `rootfs` and bind source i at `bind-i`, inside the private mount namespace only.
   */
  readonly stagingDir?: string;
}

// Runs as root in a fresh private mount namespace: stage the rootfs and bind sources where
// the image user can reach them, then exec the rest of the argv (setpriv … bwrap …).
const stagingScript = [
  'set -e',
  'mount_bin=$1; staging=$2; rootfs=$3; shift 3',
  '"$mount_bin" --bind -- "$rootfs" "$staging/rootfs"',
  'i=0',
  'while [ "$1" != -- ]; do "$mount_bin" --bind -- "$1" "$staging/bind-$i"; i=$((i + 1)); shift; done',
  'shift',
  'exec "$@"',
].join('\n');

/**
 * Decides how to run: as root with uid 0:0 no user namespace is needed (root with every
 * capability dropped); any other combination maps ids through a user namespace.
 */
export function planBwrapRun(spec: Pick<RunSpec, 'uid' | 'gid'>, isRoot: boolean): BwrapRunPlan {
  const wantsRoot = spec.uid === 0 && spec.gid === 0;
  if (isRoot && wantsRoot) return { usesUserNamespace: false, dropsToImageUser: false };
  return { usesUserNamespace: true, dropsToImageUser: isRoot };
}

/**
 * Builds the bwrap options for one run, WITHOUT the command: they are passed through the
 * `--args` fd so environment values never appear in a command line other host users can read.
 * The command follows `--` on bwrap's real argv.
 *
 * Decisions: the rootfs is bound read-write on `/` (writes persist, as with chroot); `/tmp` is
 * the image's own (no tmpfs), so the three backends agree; `/proc` is fresh and `/dev` minimal
 * (bwrap's `--dev`: null, zero, full, random, urandom, tty, pts, shm); no `/sys`.
 */
export function buildBwrapArgs(spec: RunSpec, plan: BwrapRunPlan, stagingDir?: string): string[] {
  const args: string[] = [];
  const staged = plan.dropsToImageUser && stagingDir !== undefined;
  args.push('--bind', staged ? `${stagingDir}/rootfs` : spec.rootfs, '/');
  args.push('--proc', '/proc', '--dev', '/dev');
  spec.binds.forEach((bind, index) => {
    const source = staged ? `${stagingDir}/bind-${index}` : bind.source;
    args.push(bind.readOnly ? '--ro-bind' : '--bind', source, bind.target);
  });
  args.push('--unshare-net', '--unshare-pid', '--unshare-ipc', '--unshare-uts');
  if (plan.usesUserNamespace) {
    args.push('--unshare-user', '--uid', String(spec.uid), '--gid', String(spec.gid));
  }
  args.push('--cap-drop', 'ALL', '--new-session', '--die-with-parent');
  args.push('--json-status-fd', String(BWRAP_FDS.status));
  args.push('--chdir', spec.cwd, '--clearenv');
  for (const [name, value] of Object.entries(spec.env)) args.push('--setenv', name, value);
  return args;
}

/**
 * The whole argv of the process to spawn: bwrap reading its options from fd 3, then `--` and
 * the command; prefixed with setpriv when root drops to the image user first.
 */
export function buildBwrapCommandLine(
  spec: Pick<RunSpec, 'argv' | 'uid' | 'gid' | 'rootfs' | 'binds'>,
  plan: BwrapRunPlan,
  paths: BwrapHelperPaths,
): { readonly file: string; readonly args: string[] } {
  const bwrapArgs = ['--args', String(BWRAP_FDS.args), '--', ...spec.argv];
  if (!plan.dropsToImageUser) return { file: paths.bwrap, args: bwrapArgs };
  const { setpriv, unshare, mount, sh, stagingDir } = paths;
  if (!setpriv || !unshare || !mount || !sh || !stagingDir) {
    throw new Error(
      'setpriv, unshare, mount, sh and a staging directory are needed to drop to the image user',
    );
  }
  return {
    file: unshare,
    args: [
      '--mount',
      '--propagation',
      'private',
      '--',
      sh,
      '-c',
      stagingScript,
      'polythene-bwrap-stage',
      mount,
      stagingDir,
      spec.rootfs,
      ...spec.binds.map((bind) => bind.source),
      '--',
      setpriv,
      `--reuid=${spec.uid}`,
      `--regid=${spec.gid}`,
      '--clear-groups',
      '--',
      paths.bwrap,
      ...bwrapArgs,
    ],
  };
}
