import { findNativeHelper } from '@polythene/native';
import type { IdMap } from './plan-id-map.ts';

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
 * and every file descriptor, and execs `command`.
 */
export function wrapInUserNamespace(
  helper: string,
  map: IdMap,
  command: readonly string[],
): string[] {
  const tools =
    map.newuidmap !== undefined && map.newgidmap !== undefined
      ? ['--newuidmap', map.newuidmap, '--newgidmap', map.newgidmap]
      : [];
  return [helper, ...tools, '--uid-map', map.uidMap, '--gid-map', map.gidMap, '--', ...command];
}
