import {
  CONTAINER_DEFAULT_CAPABILITIES,
  findDeviceCopies,
  listDeviceCopyNames,
  type RunSpec,
  wrapInUserNamespace,
} from '@polythene/probe';
import {
  BECOME_CAPABILITIES,
  type BwrapRunPlan,
  buildOverlayOptions,
  findBwrapRoot,
  findHelperOverlay,
  hasOwnNetworkFromHelper,
} from './plan-bwrap-run.ts';

/** File descriptors of the bwrap process, fixed so the argv builder stays pure. */
export const BWRAP_FDS: { readonly args: number; readonly status: number; readonly block: number } =
  { args: 3, status: 4, block: 5 };

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
  /** The `polythene-userns` helper, needed with {@link BwrapRunPlan.idMap}. */
  readonly userns?: string;
  /**
   * The staging directory (traversable by the image user) where the rootfs is mounted at
   * `rootfs` and bind source i at `bind-i`, inside the private mount namespace only.
   */
  readonly stagingDir?: string;
  /**
   * True when the command line already starts in a user namespace of its own where the caller
   * is uid 0 (`--network private`, see {@link wrapInNetworkNamespace}): an overlay is mounted
   * there, not in one more nested below it, whose network namespace slirp4netns could not join.
   */
  readonly isInOwnUserNamespace?: boolean;
}

// Runs in a fresh private mount namespace (as root, or as uid 0 of the caller's own user
// namespace): mount the root (the overlay, or a bind of the rootfs) on its target, bind the
// sources under a staging directory the image user can reach, then exec the rest of the argv
// (bwrap, or setpriv … bwrap …). The mounts vanish with the namespace when the run ends.
const mountScript = [
  'set -e',
  'mount_bin=$1; root_target=$2; root_source=$3; overlay_options=$4; bind_dir=$5; shift 5',
  'if [ -n "$overlay_options" ]; then',
  '  "$mount_bin" -t overlay -o "$overlay_options" overlay "$root_target"',
  'else',
  '  "$mount_bin" --bind -- "$root_source" "$root_target"',
  'fi',
  'i=0',
  'while [ "$1" != -- ]; do "$mount_bin" --bind -- "$1" "$bind_dir/bind-$i"; i=$((i + 1)); shift; done',
  'shift',
  'exec "$@"',
].join('\n');

/**
 * The argv that runs `command` after {@link mountScript} mounted the root: in a private mount
 * namespace, and for `in-user-namespace` in a new user namespace mapping the caller to uid 0.
 */
export function buildMountPrefix(
  paths: { readonly unshare: string; readonly sh: string; readonly mount: string },
  mount: {
    readonly inUserNamespace: boolean;
    readonly rootTarget: string;
    readonly rootSource: string;
    readonly overlayOptions: string;
    readonly bindDir: string;
    readonly bindSources: readonly string[];
  },
  command: readonly string[],
): { readonly file: string; readonly args: string[] } {
  return {
    file: paths.unshare,
    args: [
      ...(mount.inUserNamespace ? ['--user', '--map-root-user'] : []),
      '--mount',
      '--propagation',
      'private',
      '--',
      paths.sh,
      '-c',
      mountScript,
      'polythene-bwrap-mount',
      paths.mount,
      mount.rootTarget,
      mount.rootSource,
      mount.overlayOptions,
      mount.bindDir,
      ...mount.bindSources,
      '--',
      ...command,
    ],
  };
}

/** Root's own copies of the host's devices (`findDeviceCopies`), and their names. */
export interface BwrapDeviceCopies {
  readonly dir: string;
  readonly names: readonly string[];
}

/**
 * What bwrap adds after its `/proc` and `/dev` when the command is the host's root (no user
 * namespace), who owns the device nodes and may write the kernel's settings: root's own
 * device copies bound over the host's nodes (a `chmod /dev/null` changes a copy), and
 * `/proc/sys` read-only (bwrap's own cover skips it: the directory is read-only to
 * `access(W_OK)` though its files are not).
 */
export function buildRootCommandArgs(deviceCopies?: BwrapDeviceCopies): string[] {
  const args: string[] = [];
  for (const name of deviceCopies?.names ?? []) {
    args.push('--dev-bind', `${deviceCopies?.dir}/${name}`, `/dev/${name}`);
  }
  args.push('--ro-bind', '/proc/sys', '/proc/sys');
  args.push('--ro-bind-try', '/proc/sysrq-trigger', '/proc/sysrq-trigger');
  return args;
}

/** Root's device copies for bwrap (see {@link buildRootCommandArgs}), or undefined where none can be made. */
export function findBwrapDeviceCopies(): BwrapDeviceCopies | undefined {
  const dir = findDeviceCopies();
  return dir === undefined ? undefined : { dir, names: listDeviceCopyNames() };
}

/**
 * Builds the bwrap options for one run, WITHOUT the command: they are passed through the
 * `--args` fd so environment values never appear in a command line other host users can read.
 * The command follows `--` on bwrap's real argv.
 *
 * Decisions: the rootfs is bound read-write on `/` (writes persist, as with chroot); `/tmp` is
 * the image's own (no tmpfs), so the three backends agree; `/proc` is fresh and `/dev` minimal
 * (bwrap's `--dev`: null, zero, full, random, urandom, tty, pts, shm; with `deviceCopies`,
 * for a command that is the host's root, its devices are those copies); no `/sys`.
 */
export function buildBwrapArgs(
  spec: RunSpec,
  plan: BwrapRunPlan,
  stagingDir?: string,
  deviceCopies?: BwrapDeviceCopies,
): string[] {
  const args: string[] = [];
  const staged = plan.dropsToImageUser && stagingDir !== undefined;
  args.push('--bind', findBwrapRoot(spec, plan, stagingDir), '/');
  args.push('--proc', '/proc', '--dev', '/dev');
  if (!plan.usesUserNamespace) args.push(...buildRootCommandArgs(deviceCopies));
  spec.binds.forEach((bind, index) => {
    const source = staged ? `${stagingDir}/bind-${index}` : bind.source;
    args.push(bind.readOnly ? '--ro-bind' : '--bind', source, bind.target);
  });
  // `host` shares the host's network namespace; `private` runs in one made before bwrap
  // starts (see wrapInNetworkNamespace) and waits on --block-fd until slirp4netns is attached.
  const networkMode = spec.network?.mode ?? 'none';
  if (networkMode === 'none' && !hasOwnNetworkFromHelper(spec, plan)) args.push('--unshare-net');
  if (networkMode === 'private') args.push('--block-fd', String(BWRAP_FDS.block));
  args.push('--unshare-pid', '--unshare-ipc', '--unshare-uts');
  if (plan.usesUserNamespace) {
    args.push('--unshare-user', '--uid', String(spec.uid), '--gid', String(spec.gid));
  }
  args.push('--cap-drop', 'ALL');
  // Root of the box's own user namespace holds the container set there, and nothing outside.
  if (plan.idMap !== undefined) {
    const kept = spec.capabilities ?? CONTAINER_DEFAULT_CAPABILITIES;
    const extra = plan.becomesUser
      ? BECOME_CAPABILITIES.filter((name) => !kept.includes(name))
      : [];
    for (const name of [...kept, ...extra]) args.push('--cap-add', name);
  }
  args.push('--new-session', '--die-with-parent');
  args.push('--json-status-fd', String(BWRAP_FDS.status));
  args.push('--chdir', spec.cwd, '--clearenv');
  for (const [name, value] of Object.entries(spec.env)) args.push('--setenv', name, value);
  return args;
}

/**
 * The whole argv of the process to spawn: bwrap reading its options from fd 3, then `--` and
 * the command; behind {@link mountScript} when an overlay root must be mounted first or root
 * drops to the image user (then through setpriv).
 */
export function buildBwrapCommandLine(
  spec: Pick<RunSpec, 'argv' | 'uid' | 'gid' | 'rootfs' | 'binds' | 'overlay' | 'network'>,
  plan: BwrapRunPlan,
  paths: BwrapHelperPaths,
): { readonly file: string; readonly args: string[] } {
  const { idMap } = plan;
  if (idMap === undefined) return buildPlainCommandLine(spec, plan, paths);
  const bwrapCommand = [paths.bwrap, '--args', String(BWRAP_FDS.args), '--', ...spec.argv];
  // Root writes the maps itself, after the host's root mounted the overlay; newuidmap maps
  // from outside everything, and the overlay is mounted as root of the new namespace.
  const isRootMap = idMap.newuidmap === undefined;
  if (isRootMap && !paths.userns) {
    throw new Error('the polythene-userns helper is needed for an id map');
  }
  // The helper that makes the namespace mounts the overlay root too: root's before it
  // enters the namespace, the exec guard (unprivileged, see the backend) inside it.
  const inner = isRootMap
    ? wrapInUserNamespace(
        paths.userns as string,
        idMap,
        bwrapCommand,
        hasOwnNetworkFromHelper(spec, plan),
        findHelperOverlay(spec, plan),
      )
    : bwrapCommand;
  // Unprivileged, the exec guard in front enters the namespace (see the backend).
  return toCommandLine(inner);
}

function toCommandLine(argv: readonly string[]): {
  readonly file: string;
  readonly args: string[];
} {
  const [file, ...args] = argv;
  return { file: file as string, args };
}

function buildPlainCommandLine(
  spec: Pick<RunSpec, 'argv' | 'uid' | 'gid' | 'rootfs' | 'binds' | 'overlay'>,
  plan: BwrapRunPlan,
  paths: BwrapHelperPaths,
): { readonly file: string; readonly args: string[] } {
  const bwrapArgs = ['--args', String(BWRAP_FDS.args), '--', ...spec.argv];
  if (!plan.dropsToImageUser && plan.overlayMount === 'none') {
    return { file: paths.bwrap, args: bwrapArgs };
  }
  const { setpriv, unshare, mount, sh, stagingDir } = paths;
  if (!unshare || !mount || !sh) {
    throw new Error(
      'unshare, mount and sh are needed to mount an overlay root or stage the rootfs',
    );
  }
  if (plan.dropsToImageUser && (!setpriv || !stagingDir)) {
    throw new Error('setpriv and a staging directory are needed to drop to the image user');
  }
  const command = plan.dropsToImageUser
    ? [
        setpriv as string,
        `--reuid=${spec.uid}`,
        `--regid=${spec.gid}`,
        '--clear-groups',
        '--',
        paths.bwrap,
        ...bwrapArgs,
      ]
    : [paths.bwrap, ...bwrapArgs];
  return buildMountPrefix(
    { unshare, sh, mount },
    {
      inUserNamespace:
        plan.overlayMount === 'in-user-namespace' && paths.isInOwnUserNamespace !== true,
      rootTarget: findBwrapRoot(spec, plan, stagingDir),
      rootSource: spec.rootfs,
      overlayOptions:
        spec.overlay === undefined
          ? ''
          : buildOverlayOptions(spec.overlay, plan.overlayMount === 'in-user-namespace'),
      bindDir: plan.dropsToImageUser ? (stagingDir as string) : '',
      bindSources: plan.dropsToImageUser ? spec.binds.map((bind) => bind.source) : [],
    },
    command,
  );
}

/**
 * For `--network private`: starts the whole command line in a new network namespace (and,
 * for an unprivileged caller, a user namespace mapping it to uid 0 that owns it, which
 * slirp4netns can join; bwrap's own user namespace is nested below it). There, as podman
 * does, every port may be bound (`ip_unprivileged_port_start=0`): the box's root has no
 * capability left, and a service in the box listens on 80; and group 0 may ping without
 * `CAP_NET_RAW` (`ping_group_range` "0 0"). `unshare` and the shell exec in
 * place, so bwrap's process is the one in that namespace.
 */
export function wrapInNetworkNamespace(
  commandLine: { readonly file: string; readonly args: readonly string[] },
  paths: { readonly unshare: string; readonly sh: string },
  isRoot: boolean,
): { readonly file: string; readonly args: string[] } {
  return {
    file: paths.unshare,
    args: [
      ...(isRoot ? [] : ['--user', '--map-root-user']),
      '--net',
      '--',
      paths.sh,
      '-c',
      'echo 0 > /proc/sys/net/ipv4/ip_unprivileged_port_start && echo "0 0" > /proc/sys/net/ipv4/ping_group_range && exec "$@"',
      'polythene-network',
      commandLine.file,
      ...commandLine.args,
    ],
  };
}
