import type { ProbeContext, ProbeResult, UserNamespaceKnobs } from '@polythene/probe';
import {
  ALL_GUARANTEES,
  findExecutable,
  readUserNamespaceKnobs,
  runQuietly,
} from '@polythene/probe';
import { describeIdMap, probeIdMap } from './probe-id-map.ts';
import { tryOverlayRoot } from './try-overlay-root.ts';

/** Keys of the probe's `details` that `run` reads back. */
export interface BwrapDetails {
  /** Absolute path of bwrap. */
  readonly bwrapPath: string;
  /** Absolute path of setpriv, or '' when missing (root then cannot run non-root image users). */
  readonly setprivPath: string;
  /** Absolute path of unshare, or ''. */
  readonly unsharePath: string;
  /** Absolute path of mount, or ''. */
  readonly mountPath: string;
  /** Absolute path of sh, or ''. */
  readonly shPath: string;
  /** True when an unprivileged process may create user namespaces here. */
  readonly hasUserNamespaces: boolean;
  /**
   * Why overlay roots are not offered here ('' when they are): missing tools, or the trial
   * mount failed (kernel without overlayfs, or refusing it in a user namespace).
   */
  readonly overlayRefusal: string;
}

// Runs bwrap itself as the sandboxed command: needs nothing else on the host, costs one fork.
function buildProbeArgs(bwrapPath: string, withUserNamespace: boolean): string[] {
  return [...buildSandboxArgs(withUserNamespace), '--', bwrapPath, '--version'];
}

// Every namespace and restriction a run uses, without the command.
function buildSandboxArgs(withUserNamespace: boolean): string[] {
  return [
    '--ro-bind',
    '/',
    '/',
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--unshare-net',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    ...(withUserNamespace ? ['--unshare-user'] : []),
    '--cap-drop',
    'ALL',
    '--new-session',
    '--die-with-parent',
  ];
}

/**
 * Probes bubblewrap silently: finds it, reads its version, and starts one real sandbox with
 * every namespace the backend uses. Refused user namespaces make it unavailable to non-root
 * callers, with the sysctl that refuses them named in the reason.
 */
export async function probeBwrap(context: ProbeContext): Promise<ProbeResult> {
  const bwrapPath = findExecutable('bwrap', context.hostEnv);
  if (bwrapPath === undefined) {
    return {
      available: false,
      reason: 'bwrap not found on PATH (install the bubblewrap package)',
      missing: { tool: 'bwrap', debianPackage: 'bubblewrap' },
    };
  }
  const setprivPath = findExecutable('setpriv', context.hostEnv) ?? '';
  const unsharePath = findExecutable('unshare', context.hostEnv) ?? '';
  const mountPath = findExecutable('mount', context.hostEnv) ?? '';
  const shPath = findExecutable('sh', context.hostEnv) ?? '';
  const versionRun = await runQuietly(bwrapPath, ['--version']);
  const version = /(\d+\.\d+(?:\.\d+)?)/.exec(versionRun.stdout)?.[1];

  const sandboxRun = await runQuietly(bwrapPath, buildProbeArgs(bwrapPath, !context.isRoot));
  if (sandboxRun.exitCode !== 0) {
    return { available: false, reason: describeRefusal(sandboxRun.stderr, context.isRoot) };
  }
  let hasUserNamespaces = !context.isRoot;
  if (context.isRoot && setprivPath !== '') {
    // Root runs non-root image users through an unprivileged bwrap: check that works too.
    const userRun = await runQuietly(setprivPath, [
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      '--',
      bwrapPath,
      ...buildProbeArgs(bwrapPath, true),
    ]);
    hasUserNamespaces = userRun.exitCode === 0;
  }
  const overlayRefusal = await findOverlayRefusal(
    { bwrap: bwrapPath, unshare: unsharePath, mount: mountPath, sh: shPath },
    context.isRoot,
  );
  // A uid-0 box runs in a user namespace of its own with every id 0–65535 mapped.
  const idMap = await probeIdMap(context.hostEnv, bwrapPath, buildSandboxArgs(false));
  const details: BwrapDetails = {
    bwrapPath,
    setprivPath,
    unsharePath,
    mountPath,
    shPath,
    hasUserNamespaces,
    overlayRefusal,
  };
  return {
    available: true,
    version,
    guarantees: ALL_GUARANTEES.filter(
      (guarantee) => guarantee !== 'ids' || idMap.map !== undefined,
    ),
    lost: idMap.map === undefined ? { ids: idMap.lostReason } : {},
    details: { ...details, ...describeIdMap(idMap) },
    canOverlay: overlayRefusal === '',
  };
}

// bwrap 0.8 cannot mount overlays itself: the run mounts one first (see buildMountPrefix).
async function findOverlayRefusal(
  paths: { bwrap: string; unshare: string; mount: string; sh: string },
  isRoot: boolean,
): Promise<string> {
  const missing = (['unshare', 'mount', 'sh'] as const).filter((tool) => paths[tool] === '');
  if (missing.length > 0) {
    return `${missing.join(', ')} not found on PATH (util-linux, mount, dash): overlay roots need them`;
  }
  const isMounted = await tryOverlayRoot(paths, !isRoot, buildSandboxArgs(!isRoot));
  if (isMounted) return '';
  return isRoot
    ? 'a trial overlayfs mount failed (is the overlay module available?)'
    : 'a trial overlayfs mount in a user namespace failed (the kernel needs overlayfs with userxattr, Linux 5.11+)';
}

/** Reads the probe's details back, tolerating a cache written by another version. */
export function readBwrapDetails(
  details: Readonly<Record<string, string | boolean>>,
): BwrapDetails {
  return {
    bwrapPath: typeof details.bwrapPath === 'string' ? details.bwrapPath : 'bwrap',
    setprivPath: typeof details.setprivPath === 'string' ? details.setprivPath : '',
    unsharePath: typeof details.unsharePath === 'string' ? details.unsharePath : '',
    mountPath: typeof details.mountPath === 'string' ? details.mountPath : '',
    shPath: typeof details.shPath === 'string' ? details.shPath : '',
    hasUserNamespaces: details.hasUserNamespaces === true,
    overlayRefusal:
      typeof details.overlayRefusal === 'string' ? details.overlayRefusal : 'not probed',
  };
}

/**
 * One line saying why bwrap cannot sandbox here, naming the host setting when it is known.
 * `procSys` is where the kernel's knobs are read (tests pass a prepared tree).
 */
export function describeRefusal(stderr: string, isRoot: boolean, procSys?: string): string {
  const bwrapLine = stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .at(-1);
  const detail = bwrapLine === undefined ? '' : ` (${bwrapLine})`;
  if (!isRoot) {
    const knobs = readUserNamespaceKnobs(procSys);
    // Ubuntu 24.04: the namespace is created, but AppArmor denies what bwrap then does in it
    // ("setting up uid map: Permission denied", "loopback: Failed RTM_NEWADDR").
    if (knobs.apparmorRestrictUnprivilegedUserns === '1') {
      return `bwrap cannot use user namespaces: AppArmor restricts them here (kernel.apparmor_restrict_unprivileged_userns=1) and no profile allows bwrap${detail}; run \`polythene doctor --fix\` to install one`;
    }
    const setting = findUserNamespaceRefusal(knobs);
    if (setting !== undefined) {
      return `bwrap cannot create a user namespace: ${setting}${detail}; enable unprivileged user namespaces or use --isolation=proot`;
    }
    // No sysctl says no, yet the kernel refused (nesting limit, a seccomp or LSM policy).
    if (/creating new namespace failed|user namespace/i.test(stderr)) {
      return `bwrap cannot create a user namespace here${detail}; enable unprivileged user namespaces or use --isolation=proot`;
    }
  }
  return `bwrap cannot set up a sandbox on this host${detail}; check that namespaces are allowed or use --isolation=proot`;
}

/** The host setting that refuses unprivileged user namespaces, if one does. */
export function findUserNamespaceRefusal(
  knobs: UserNamespaceKnobs = readUserNamespaceKnobs(),
): string | undefined {
  if (knobs.maxUserNamespaces === '0') return 'the host sets user.max_user_namespaces=0';
  if (knobs.unprivilegedUsernsClone === '0')
    return 'the host sets kernel.unprivileged_userns_clone=0';
  if (knobs.apparmorRestrictUnprivilegedUserns === '1') {
    return 'the host sets kernel.apparmor_restrict_unprivileged_userns=1';
  }
  return undefined;
}
