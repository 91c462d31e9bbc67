import type { RunSpec } from '@polythene/probe';

/** How bwrap is started for one run, as decided by {@link planBwrapRun}. */
export interface BwrapRunPlan {
  /**
   * True when bwrap creates a user namespace that maps the caller's uid to the requested
   * uid/gid: always as non-root, and as root for a non-root image user.
   */
  readonly usesUserNamespace: boolean;
  /**
   * True when root first drops to the image user with setpriv (so the host sees that uid, not
   * root, own what the command writes) and hands the rootfs and bind sources over as open
   * fds: the unprivileged bwrap could not traverse a 0700 store otherwise.
   */
  readonly dropsToImageUser: boolean;
}

/** File descriptors of the bwrap process, fixed so the argv builder stays pure. */
export const BWRAP_FDS: {
  readonly args: number;
  readonly status: number;
  readonly rootfs: number;
  readonly firstBind: number;
} = { args: 3, status: 4, rootfs: 5, firstBind: 6 };

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
export function buildBwrapArgs(spec: RunSpec, plan: BwrapRunPlan): string[] {
  const args: string[] = [];
  if (plan.dropsToImageUser) args.push('--bind-fd', String(BWRAP_FDS.rootfs), '/');
  else args.push('--bind', spec.rootfs, '/');
  args.push('--proc', '/proc', '--dev', '/dev');
  spec.binds.forEach((bind, index) => {
    if (plan.dropsToImageUser) {
      const flag = bind.readOnly ? '--ro-bind-fd' : '--bind-fd';
      args.push(flag, String(BWRAP_FDS.firstBind + index), bind.target);
    } else {
      args.push(bind.readOnly ? '--ro-bind' : '--bind', bind.source, bind.target);
    }
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
  spec: Pick<RunSpec, 'argv' | 'uid' | 'gid'>,
  plan: BwrapRunPlan,
  paths: { readonly bwrap: string; readonly setpriv?: string },
): { readonly file: string; readonly args: string[] } {
  const bwrapArgs = ['--args', String(BWRAP_FDS.args), '--', ...spec.argv];
  if (!plan.dropsToImageUser) return { file: paths.bwrap, args: bwrapArgs };
  if (paths.setpriv === undefined) throw new Error('setpriv is needed to drop to the image user');
  return {
    file: paths.setpriv,
    args: [
      `--reuid=${spec.uid}`,
      `--regid=${spec.gid}`,
      '--clear-groups',
      '--',
      paths.bwrap,
      ...bwrapArgs,
    ],
  };
}
