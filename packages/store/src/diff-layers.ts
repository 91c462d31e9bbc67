import type { Stats } from 'node:fs';
import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { createLayerLookup, joinRelative, type MergedEntry } from './layer-lookup.ts';
import type { OverlayXattrReader } from './overlay-xattrs.ts';
import { errorCode } from './system-error.ts';

/**
 * What changed in a root filesystem, as absolute paths inside it (`/etc/hosts`), each list
 * sorted. A deleted directory is listed alone, not with its former contents; an added
 * directory is listed with everything in it. A path whose type changed is `modified` (and the
 * contents of a former directory are not listed); a directory is `modified` only when its
 * mode, owner or group changed, not because entries were added to or removed from it.
 */
export interface TreeDiff {
  /** Paths that did not exist before. */
  added: string[];
  /** Paths that exist before and after with different content, metadata or type. */
  modified: string[];
  /** Paths that no longer exist. */
  deleted: string[];
}

/** Options for {@link diffLayers}. */
export interface DiffLayersOptions {
  /** Reads overlay xattrs; defaults to a shared helper process. */
  xattrReader?: OverlayXattrReader;
}

/**
 * Diffs an overlayfs upper layer against the merged view of its lower layers (`lowers`, top
 * first): what a process saw change in the merged mount. Walks only `upper`; the lowers are
 * only looked up. Whiteouts (a 0:0 character device, or the `overlay.whiteout` xattr form)
 * are deletions when the lowers have the path; an opaque directory (`overlay.opaque=y`)
 * deletes the lower children it does not hold; a file, symlink or special file in `upper`
 * is modified when the lowers have that path (overlayfs copies a file up when it is opened
 * for writing or its metadata changes), else added. Both the `trusted.` and `user.`
 * (`-o userxattr`) xattr namespaces are read.
 */
export async function diffLayers(
  upper: string,
  lowers: readonly string[],
  options: DiffLayersOptions = {},
): Promise<TreeDiff> {
  const upperRoot = resolve(upper);
  const before = createLayerLookup(
    lowers.map((lower) => resolve(lower)),
    options.xattrReader,
  );
  // Only used for the upper layer's own whiteout checks (xattr reads are cached there).
  const after = createLayerLookup([upperRoot], options.xattrReader);
  const diff: TreeDiff = { added: [], modified: [], deleted: [] };

  async function walk(relativePath: string, previous: MergedEntry | undefined): Promise<void> {
    const dirHost = join(upperRoot, relativePath);
    const names = await fs.readdir(dirHost).catch((error: unknown) => {
      if (errorCode(error) === 'EACCES') return [];
      throw error;
    });
    const isDirBefore = previous?.dirLayers !== undefined;
    if (isDirBefore && (await after.xattrsOf(dirHost)).opaque === 'y') {
      const present = new Set(names);
      for (const name of await before.listChildren(relativePath)) {
        if (!present.has(name)) diff.deleted.push(toAbsolute(joinRelative(relativePath, name)));
      }
    }
    for (const name of names) {
      const childRelative = joinRelative(relativePath, name);
      const hostPath = join(dirHost, name);
      const stats = await fs.lstat(hostPath).catch(() => undefined);
      if (stats === undefined) continue;
      const childBefore = isDirBefore ? await before.lookup(childRelative) : undefined;
      if (await after.isWhiteout(stats, hostPath, dirHost)) {
        if (childBefore !== undefined) diff.deleted.push(toAbsolute(childRelative));
        continue;
      }
      if (!stats.isDirectory()) {
        (childBefore === undefined ? diff.added : diff.modified).push(toAbsolute(childRelative));
        continue;
      }
      if (childBefore === undefined) diff.added.push(toAbsolute(childRelative));
      else if (
        childBefore.dirLayers === undefined ||
        hasDirMetadataChanged(childBefore.stats, stats)
      )
        diff.modified.push(toAbsolute(childRelative));
      await walk(childRelative, childBefore?.dirLayers === undefined ? undefined : childBefore);
    }
  }

  const rootBefore = await before.lookup('');
  const rootAfter = await fs.lstat(upperRoot);
  if (rootBefore !== undefined && hasDirMetadataChanged(rootBefore.stats, rootAfter))
    diff.modified.push('/');
  await walk('', rootBefore);
  diff.added.sort();
  diff.modified.sort();
  diff.deleted.sort();
  return diff;
}

/** A directory counts as modified when its permissions, owner or group changed. */
export function hasDirMetadataChanged(
  before: Pick<Stats, 'mode' | 'uid' | 'gid'>,
  after: Pick<Stats, 'mode' | 'uid' | 'gid'>,
): boolean {
  return (
    (before.mode & 0o7777) !== (after.mode & 0o7777) ||
    before.uid !== after.uid ||
    before.gid !== after.gid
  );
}

/** `usr/bin` → `/usr/bin`, `''` → `/`. */
export function toAbsolute(relativePath: string): string {
  return `/${relativePath}`;
}
