import {
  closeSync,
  constants,
  promises as fs,
  lstatSync,
  openSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  type Stats,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { createLayerLookup, joinRelative, type MergedEntry } from './layer-lookup.ts';
import { pathBeneath } from './open-beneath.ts';
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

  // The upper layer is what a running command changes: each directory is opened O_NOFOLLOW
  // and must be, by the kernel's own account of the descriptor, the directory we meant (a
  // parent swapped for a symlink leads elsewhere); it is then listed and its children
  // looked at through the descriptor, so a swap cannot make the diff report host paths.
  const upperReal = realpathSync(upperRoot);

  async function walk(relativePath: string, previous: MergedEntry | undefined): Promise<void> {
    const dirHost = join(upperRoot, relativePath);
    const dirFd = openExpectedDirectory(dirHost, join(upperReal, relativePath));
    if (dirFd === undefined) return;
    try {
      await walkOpen(dirFd, dirHost, relativePath, previous);
    } finally {
      closeSync(dirFd);
    }
  }

  async function walkOpen(
    dirFd: number,
    dirHost: string,
    relativePath: string,
    previous: MergedEntry | undefined,
  ): Promise<void> {
    let names: string[];
    try {
      names = readdirSync(pathBeneath(dirFd));
    } catch (error) {
      if (errorCode(error) === 'EACCES') return;
      throw error;
    }
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
      let stats: Stats | undefined;
      try {
        stats = lstatSync(pathBeneath(dirFd, name), { throwIfNoEntry: false });
      } catch {
        // Unreachable: skipped like a vanished path.
      }
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

// `path` opened to be listed, when it is still the directory `expectedRealPath` (the kernel's
// path of the opened descriptor); undefined when it is gone, unreadable, or was swapped for
// something else (a symlink here or above).
function openExpectedDirectory(path: string, expectedRealPath: string): number | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  if (readlinkSync(pathBeneath(fd)) === expectedRealPath) return fd;
  closeSync(fd);
  return undefined;
}
