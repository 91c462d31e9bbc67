import {
  type BigIntStats,
  closeSync,
  constants,
  lstatSync,
  openSync,
  readdirSync,
  readlinkSync,
} from 'node:fs';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { pathBeneath, type TreeDiff } from '@polythene/store';

/**
 * Diffs the tree `after` (a full copy, made by the store's copyTree, which keeps modes, owners and
 * nanosecond mtimes) against `before` (the tree it was copied from), by the quick check the
 * store uses for its manifests: type, mode, owner, group, size, mtime and link target; a
 * directory counts as modified only when its mode, owner or group changed. A deleted
 * directory is listed alone; an added one with its contents. Symlinks are never followed.
 * Same shape and rules as the store's `diffLayers`, for boxes that are copies, not overlays.
 */
export async function diffTrees(before: string, after: string): Promise<TreeDiff> {
  const diff: TreeDiff = { added: [], modified: [], deleted: [] };

  // Both trees are walked through directory descriptors, each opened O_NOFOLLOW below its
  // parent's, and looked into through them (`/proc/self/fd/<fd>/<name>`): a command that
  // swaps a directory of the box for a symlink meanwhile cannot make the diff list or stat
  // anything of the host.
  async function walk(
    afterFd: number,
    beforeFd: number | undefined,
    relativePath: string,
  ): Promise<void> {
    const afterNames = listNames(afterFd);
    const beforeNames = beforeFd === undefined ? [] : listNames(beforeFd);
    const afterSet = new Set(afterNames);
    for (const name of beforeNames) {
      if (!afterSet.has(name)) diff.deleted.push(`/${join(relativePath, name)}`);
    }
    const beforeSet = new Set(beforeNames);
    for (const name of afterNames) {
      const childRelative = join(relativePath, name);
      const afterStats = lstatBeneath(afterFd, name);
      if (afterStats === undefined) continue;
      const beforeStats =
        beforeFd !== undefined && beforeSet.has(name) ? lstatBeneath(beforeFd, name) : undefined;
      const shown = `/${childRelative}`;
      if (beforeStats === undefined || beforeFd === undefined) diff.added.push(shown);
      else if (hasChanged(beforeStats, afterStats, () => linkTargets(beforeFd, afterFd, name)))
        diff.modified.push(shown);
      if (!afterStats.isDirectory()) continue;
      const afterChild = openDirectoryIn(afterFd, name);
      if (afterChild === undefined) continue;
      const beforeChild =
        beforeFd !== undefined && beforeStats?.isDirectory() === true
          ? openDirectoryIn(beforeFd, name)
          : undefined;
      try {
        await walk(afterChild, beforeChild, childRelative);
      } finally {
        closeSync(afterChild);
        if (beforeChild !== undefined) closeSync(beforeChild);
      }
    }
  }

  const [beforeRoot, afterRoot] = await Promise.all([
    lstat(before, { bigint: true }),
    lstat(after, { bigint: true }),
  ]);
  const rootLinks = (): [string, string] => [readlinkSync(before), readlinkSync(after)];
  if (hasChanged(beforeRoot, afterRoot, rootLinks)) diff.modified.push('/');
  const afterFd = openDirectoryIn(undefined, after);
  const beforeFd = openDirectoryIn(undefined, before);
  try {
    if (afterFd !== undefined) await walk(afterFd, beforeFd, '');
  } finally {
    if (afterFd !== undefined) closeSync(afterFd);
    if (beforeFd !== undefined) closeSync(beforeFd);
  }
  diff.added.sort();
  diff.modified.sort();
  diff.deleted.sort();
  return diff;
}

function hasChanged(
  beforeStats: BigIntStats,
  afterStats: BigIntStats,
  readLinks: () => [string, string],
): boolean {
  if ((beforeStats.mode & 0o170000n) !== (afterStats.mode & 0o170000n)) return true;
  if (
    beforeStats.mode !== afterStats.mode ||
    beforeStats.uid !== afterStats.uid ||
    beforeStats.gid !== afterStats.gid
  )
    return true;
  if (afterStats.isDirectory()) return false;
  if (beforeStats.size !== afterStats.size || beforeStats.mtimeNs !== afterStats.mtimeNs)
    return true;
  if (!afterStats.isSymbolicLink()) return false;
  const [beforeTarget, afterTarget] = readLinks();
  return beforeTarget !== afterTarget;
}

function linkTargets(beforeFd: number, afterFd: number, name: string): [string, string] {
  return [readlinkSync(pathBeneath(beforeFd, name)), readlinkSync(pathBeneath(afterFd, name))];
}

function listNames(dirFd: number): string[] {
  try {
    return readdirSync(pathBeneath(dirFd));
  } catch {
    return [];
  }
}

function lstatBeneath(dirFd: number, name: string): BigIntStats | undefined {
  try {
    return lstatSync(pathBeneath(dirFd, name), { bigint: true, throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

// `name` below the directory `dirFd` (or the path `name` itself), opened to be listed without
// following a symlink; undefined when it is gone, unreadable or no longer a directory.
function openDirectoryIn(dirFd: number | undefined, name: string): number | undefined {
  try {
    return openSync(
      dirFd === undefined ? name : pathBeneath(dirFd, name),
      constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW,
    );
  } catch {
    return undefined;
  }
}
