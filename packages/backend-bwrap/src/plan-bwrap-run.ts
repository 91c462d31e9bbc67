import type { IdMap, OverlayLayers, OverlayMount, RunSpec } from '@polythene/probe';

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
  /**
   * How the overlay root is mounted (bwrap 0.8 has no overlay options of its own), always in a
   * private mount namespace that dies with the run, before bwrap starts: `none` (no overlay);
   * `as-root` (root mounts it); `in-user-namespace` (an unprivileged caller mounts it with
   * `userxattr` in its own user namespace, where it is uid 0, and bwrap runs in there).
   */
  readonly overlayMount: 'none' | 'as-root' | 'in-user-namespace';
  /**
   * Set for a uid-0 command when the probe found a full id map: `polythene-userns` creates a
   * user namespace with this map and bwrap runs as its root (no `--unshare-user`), so the
   * command is root of the namespace with the container capability set. Root's helper runs
   * after the mount prefix (the overlay is mounted by the host's root); for an unprivileged
   * caller the exec guard enters the namespace first (newuidmap is setuid, so this must come
   * before the guard sets no_new_privs), and the overlay is mounted inside it with `userxattr`.
   */
  readonly idMap?: IdMap;
  /**
   * With {@link idMap}, for a command that is not 0:0: bwrap still runs as root of the box's
   * user namespace (so every in-box id keeps its owner), and the `polythene-become` helper,
   * bound into the box with polythene's other helpers, narrows the capabilities and becomes
   * the command's user right before it (see {@link BECOME_CAPABILITIES}).
   */
  readonly becomesUser?: boolean;
}

/**
 * What `polythene-become` needs besides the run's own set while it runs: it narrows the
 * bounding set (SETPCAP), then sets the groups and ids (SETGID, SETUID), then clears them.
 */
export const BECOME_CAPABILITIES: readonly string[] = ['CAP_SETPCAP', 'CAP_SETGID', 'CAP_SETUID'];

/**
 * True when the run's user namespace helper (root's `polythene-userns`, or the exec guard)
 * makes the box's network namespace, not bwrap: with an id map and no network (`none`). It can
 * set `net.ipv4.ping_group_range` there, which bwrap cannot; `private` sets it in
 * {@link wrapInNetworkNamespace}, and `host` is the host's.
 */
export function hasOwnNetworkFromHelper(
  spec: Pick<RunSpec, 'network'>,
  plan: Pick<BwrapRunPlan, 'idMap'>,
): boolean {
  return plan.idMap !== undefined && (spec.network?.mode ?? 'none') === 'none';
}

/**
 * With an id map, the overlay root the namespace's helper mounts (root's `polythene-userns`
 * as the host's root; the exec guard unprivileged, inside the namespace, with `userxattr`),
 * in a private mount namespace: one helper instead of unshare, a shell and mount.
 */
export function findHelperOverlay(
  spec: Pick<RunSpec, 'rootfs' | 'overlay'>,
  plan: Pick<BwrapRunPlan, 'idMap'>,
): OverlayMount | undefined {
  if (plan.idMap === undefined || spec.overlay === undefined) return undefined;
  return {
    options: buildOverlayOptions(spec.overlay, plan.idMap.newuidmap !== undefined),
    target: spec.overlay.lowerDirs[0] ?? spec.rootfs,
  };
}

/**
 * overlayfs mount options for `layers`; `userxattr` inside a user namespace, where the kernel
 * refuses `trusted.*` xattrs (overlayfs then keeps its metadata in `user.overlay.*`).
 */
export function buildOverlayOptions(layers: OverlayLayers, inUserNamespace: boolean): string {
  const options = [
    `lowerdir=${layers.lowerDirs.join(':')}`,
    `upperdir=${layers.upperDir}`,
    `workdir=${layers.workDir}`,
  ];
  if (inUserNamespace) options.push('userxattr');
  return options.join(',');
}

/**
 * Decides how to run: as root with uid 0:0 no user namespace is needed (root with every
 * capability dropped); any other combination maps ids through a user namespace. An overlay
 * root is mounted by root when polythene is root, else in the caller's own user namespace.
 */
export function planBwrapRun(
  spec: Pick<RunSpec, 'uid' | 'gid' | 'overlay'>,
  isRoot: boolean,
  idMap?: IdMap,
): BwrapRunPlan {
  const wantsRoot = spec.uid === 0 && spec.gid === 0;
  const overlayMount =
    spec.overlay === undefined ? 'none' : isRoot ? 'as-root' : 'in-user-namespace';
  if (idMap !== undefined) {
    return {
      usesUserNamespace: false,
      dropsToImageUser: false,
      overlayMount,
      idMap,
      becomesUser: !wantsRoot,
    };
  }
  if (isRoot && wantsRoot)
    return { usesUserNamespace: false, dropsToImageUser: false, overlayMount };
  return { usesUserNamespace: true, dropsToImageUser: isRoot, overlayMount };
}

/**
 * The host path bwrap binds on `/`: the staging mount point when root drops to the image
 * user, the overlay's mount point (its top-most lower layer, covered by the overlay in the
 * run's own mount namespace only), else the rootfs itself.
 */
export function findBwrapRoot(
  spec: Pick<RunSpec, 'rootfs' | 'overlay'>,
  plan: BwrapRunPlan,
  stagingDir: string | undefined,
): string {
  if (plan.dropsToImageUser && stagingDir !== undefined) return `${stagingDir}/rootfs`;
  return spec.overlay?.lowerDirs[0] ?? spec.rootfs;
}
