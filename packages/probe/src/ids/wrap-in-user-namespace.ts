import { findNativeHelper } from '@polythene/native';
import type { IdMap } from './plan-id-map.ts';

/** An overlay root a helper mounts in a private mount namespace before the backend starts. */
export interface OverlayMount {
  /** overlayfs's mount options (`lowerdir=…,upperdir=…,workdir=…[,userxattr]`). */
  readonly options: string;
  /** The host path it is mounted on (the top-most lower layer: covered for the run only). */
  readonly target: string;
}

/** The native helper that creates a box's user namespace (`native/polythene-userns.c`). */
export const USERNS_HELPER = 'polythene-userns';

/** The helper's path for this machine, or undefined when it is not built. */
export function findUsernsHelper(
  env: Readonly<Record<string, string | undefined>> = process.env,
): string | undefined {
  return findNativeHelper(USERNS_HELPER, env);
}

/**
 * The argv that runs `command` as uid 0 of a new user namespace with `map`: the helper
 * writes the maps itself (root) or through newuidmap/newgidmap (unprivileged), keeps its pid
 * and every file descriptor, and execs `command`. With `ownNetwork` it then makes a network
 * namespace owned by that user namespace: loopback up, `net.ipv4.ping_group_range` "0 0".
 * With `overlay` it first mounts that overlay root, as the caller, in a private mount
 * namespace.
 */
export function wrapInUserNamespace(
  helper: string,
  map: IdMap,
  command: readonly string[],
  ownNetwork = false,
  overlay?: OverlayMount,
): string[] {
  const tools =
    map.newuidmap !== undefined && map.newgidmap !== undefined
      ? ['--newuidmap', map.newuidmap, '--newgidmap', map.newgidmap]
      : [];
  return [
    helper,
    ...tools,
    '--uid-map',
    map.uidMap,
    '--gid-map',
    map.gidMap,
    ...(ownNetwork ? ['--own-network'] : []),
    ...(overlay === undefined ? [] : ['--overlay', overlay.options, overlay.target]),
    '--',
    ...command,
  ];
}
