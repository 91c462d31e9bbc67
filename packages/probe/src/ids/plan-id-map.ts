import { userInfo } from 'node:os';
import { findExecutable } from '../run/find-executable.ts';
import { readSubordinateIds } from './read-subordinate-ids.ts';

/** How many ids a box's user namespace maps: 0–65535, as a container gets. */
export const BOX_ID_COUNT = 65536;

/** The id maps of a box's user namespace, in the `/proc/PID/uid_map` format. */
export interface IdMap {
  /** `INNER OUTER COUNT` ranges, space-separated: `0 0 65536`, or `0 UID 1 1 SUBUID 65535`. */
  readonly uidMap: string;
  /** The same for groups. */
  readonly gidMap: string;
  /** newuidmap's path when the caller is not root (it writes the maps), else undefined. */
  readonly newuidmap?: string;
  /** newgidmap's path, with {@link newuidmap}. */
  readonly newgidmap?: string;
}

/** The outcome of {@link planIdMap}: a full map, or why there is none (the `ids` guarantee). */
export type IdMapPlan =
  | { readonly available: true; readonly map: IdMap }
  | { readonly available: false; readonly reason: string };

/** What {@link planIdMap} decides from; {@link readIdMapInputs} reads it from the host. */
export interface IdMapInputs {
  readonly isRoot: boolean;
  readonly uid: number;
  readonly gid: number;
  readonly userName: string;
  /** The caller's `/etc/subuid` range of at least 65535 ids. */
  readonly subuid?: { readonly start: number; readonly count: number };
  /** The caller's `/etc/subgid` range of at least 65535 ids. */
  readonly subgid?: { readonly start: number; readonly count: number };
  readonly newuidmapPath?: string;
  readonly newgidmapPath?: string;
}

/**
 * Decides the user namespace map of a box whose command is uid 0. Root: the identity map of
 * 0–65535, written directly (host ids and in-box ids are the same numbers, so the store keeps
 * the image's real owners; in-box root holds capabilities only inside the namespace).
 * Unprivileged: in-box 0 is the caller, 1–65535 the caller's `/etc/subuid`/`/etc/subgid`
 * range through the setuid `newuidmap`/`newgidmap` (the map rootless podman uses). Without
 * a range or the tools, a reason naming the fix.
 */
export function planIdMap(inputs: IdMapInputs): IdMapPlan {
  if (inputs.isRoot) {
    const identity = `0 0 ${BOX_ID_COUNT}`;
    return { available: true, map: { uidMap: identity, gidMap: identity } };
  }
  const rest = BOX_ID_COUNT - 1;
  const name = inputs.userName;
  if (inputs.subuid === undefined || inputs.subgid === undefined) {
    const missing = inputs.subuid === undefined ? '/etc/subuid' : '/etc/subgid';
    return {
      available: false,
      reason: `${name} has no range of ${rest} ids in ${missing}, so only one id is mapped (chown to other ids fails); add one with \`usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${name}\``,
    };
  }
  if (inputs.newuidmapPath === undefined || inputs.newgidmapPath === undefined) {
    return {
      available: false,
      reason:
        'newuidmap/newgidmap not found, so only one id is mapped (chown to other ids fails); install them with `apt install uidmap`',
    };
  }
  return {
    available: true,
    map: {
      uidMap: `0 ${inputs.uid} 1 1 ${inputs.subuid.start} ${rest}`,
      gidMap: `0 ${inputs.gid} 1 1 ${inputs.subgid.start} ${rest}`,
      newuidmap: inputs.newuidmapPath,
      newgidmap: inputs.newgidmapPath,
    },
  };
}

/**
 * Reads {@link IdMapInputs} for this process: its ids and name, its subordinate ranges, and
 * where newuidmap/newgidmap are on `hostEnv`'s PATH (or /usr/bin).
 */
export function readIdMapInputs(
  hostEnv: Readonly<Record<string, string | undefined>> = process.env,
): IdMapInputs {
  const uid = process.geteuid?.() ?? 0;
  const gid = process.getegid?.() ?? 0;
  if (uid === 0) return { isRoot: true, uid, gid, userName: 'root' };
  let userName = String(uid);
  try {
    userName = userInfo().username;
  } catch {
    // No passwd entry: /etc/subuid may still name the uid.
  }
  const subuid = readSubordinateIds('/etc/subuid', userName, uid, BOX_ID_COUNT - 1);
  const subgid = readSubordinateIds('/etc/subgid', userName, uid, BOX_ID_COUNT - 1);
  // newuidmap lives in /usr/bin, which a caller's PATH may lack.
  const env = { ...hostEnv, PATH: `${hostEnv.PATH ?? ''}:/usr/bin:/bin` };
  const newuidmapPath = findExecutable('newuidmap', env);
  const newgidmapPath = findExecutable('newgidmap', env);
  return {
    isRoot: false,
    uid,
    gid,
    userName,
    ...(subuid === undefined ? {} : { subuid }),
    ...(subgid === undefined ? {} : { subgid }),
    ...(newuidmapPath === undefined ? {} : { newuidmapPath }),
    ...(newgidmapPath === undefined ? {} : { newgidmapPath }),
  };
}
