import type { BigIntStats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { TreeDiff } from '@polythene/store';

/**
 * Diffs the tree `after` (a full copy, made with `cp -a`, which keeps modes, owners and
 * nanosecond mtimes) against `before` (the tree it was copied from), by the quick check the
 * store uses for its manifests: type, mode, owner, group, size, mtime and link target; a
 * directory counts as modified only when its mode, owner or group changed. A deleted
 * directory is listed alone; an added one with its contents. Symlinks are never followed.
 * Same shape and rules as the store's `diffLayers`, for boxes that are copies, not overlays.
 */
export async function diffTrees(before: string, after: string): Promise<TreeDiff> {
  const diff: TreeDiff = { added: [], modified: [], deleted: [] };

  async function walk(relativePath: string, hasBefore: boolean): Promise<void> {
    const afterNames = await readdir(join(after, relativePath)).catch(() => [] as string[]);
    const beforeNames = hasBefore
      ? await readdir(join(before, relativePath)).catch(() => [] as string[])
      : [];
    const afterSet = new Set(afterNames);
    for (const name of beforeNames) {
      if (!afterSet.has(name)) diff.deleted.push(`/${join(relativePath, name)}`);
    }
    const beforeSet = new Set(beforeNames);
    for (const name of afterNames) {
      const childRelative = join(relativePath, name);
      const afterStats = await lstat(join(after, childRelative), { bigint: true }).catch(
        () => undefined,
      );
      if (afterStats === undefined) continue;
      const beforeStats = beforeSet.has(name)
        ? await lstat(join(before, childRelative), { bigint: true }).catch(() => undefined)
        : undefined;
      const shown = `/${childRelative}`;
      if (beforeStats === undefined) diff.added.push(shown);
      else if (await hasChanged(beforeStats, afterStats, childRelative)) diff.modified.push(shown);
      if (afterStats.isDirectory()) await walk(childRelative, beforeStats?.isDirectory() === true);
    }
  }

  async function hasChanged(
    beforeStats: BigIntStats,
    afterStats: BigIntStats,
    relativePath: string,
  ): Promise<boolean> {
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
    const [beforeTarget, afterTarget] = await Promise.all([
      readlink(join(before, relativePath)),
      readlink(join(after, relativePath)),
    ]);
    return beforeTarget !== afterTarget;
  }

  const [beforeRoot, afterRoot] = await Promise.all([
    lstat(before, { bigint: true }),
    lstat(after, { bigint: true }),
  ]);
  if (await hasChanged(beforeRoot, afterRoot, '')) diff.modified.push('/');
  await walk('', true);
  diff.added.sort();
  diff.modified.sort();
  diff.deleted.sort();
  return diff;
}
