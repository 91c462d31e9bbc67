import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  ftruncateSync,
  futimesSync,
  lstatSync,
  mkdirSync,
  openSync,
  type Stats,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { PolytheneError } from '@polythene/errors';
import { formatUntrusted } from './entry-id.ts';
import { createLayerLookup } from './layer-lookup.ts';
import {
  isSwappedPathError,
  openBeneath,
  openDirectoryBeneath,
  openDirectoryNoFollow,
  pathBeneath,
} from './open-beneath.ts';
import { resolveLayeredPath } from './resolve-in-layers.ts';
import { errorCode } from './system-error.ts';

const isRoot = process.getuid?.() === 0;

/**
 * Writes `data` to `path` in the merged view of `layers` (host directories, top-most first)
 * the way a write through the overlay mount would land: in the top layer. The path is
 * resolved first ({@link resolveInLayers}: symlinks re-rooted, never leaving the layers);
 * parent directories that only exist in lower layers are created in the top layer with
 * their mode, owner (as root) and mtime (overlayfs's copy-up); a whiteout in the way is
 * replaced. An existing file keeps its mode unless `mode` is given; a new one gets `mode`,
 * default 0644. Returns the host path written. Throws `POLYTHENE_USAGE` when the parent
 * directory does not exist in the merged view or the path is a directory or special file.
 */
export async function writeFileInLayers(
  layers: readonly string[],
  path: string,
  data: string | Uint8Array,
  mode?: number,
): Promise<string> {
  const roots = layers.map((layer) => resolve(layer));
  const top = roots[0];
  if (top === undefined)
    throw new PolytheneError('POLYTHENE_USAGE', 'writeFileInLayers needs at least one layer');
  const lookup = createLayerLookup(roots);
  const { components, entry, isParentMissing } = await resolveLayeredPath(lookup, path, true);
  const shown = formatUntrusted(path);
  if (isParentMissing) {
    throw new PolytheneError(
      'POLYTHENE_USAGE',
      `cannot write ${shown}: its parent directory does not exist in the root filesystem; create it first`,
    );
  }
  if (components.length === 0 || entry?.dirLayers !== undefined) {
    throw new PolytheneError('POLYTHENE_USAGE', `cannot write ${shown}: it is a directory`);
  }
  if (entry !== undefined && !entry.stats.isFile()) {
    throw new PolytheneError(
      'POLYTHENE_USAGE',
      `cannot write ${shown}: it is a special file (device, fifo or socket), not a regular file`,
    );
  }
  // From here on every step is taken relative to a directory descriptor reached through real
  // directories (no symlink followed): a command in the box that swaps a directory for a
  // symlink meanwhile makes the write fail, never land outside the top layer.
  const topFd = openDirectoryNoFollow(top);
  let dirFd = topFd;
  try {
    for (let depth = 1; depth < components.length; depth += 1) {
      const name = components[depth - 1] as string;
      const next = openChildDirectory(dirFd, name, shown);
      if (next !== undefined) {
        if (dirFd !== topFd) closeSync(dirFd);
        dirFd = next;
        continue;
      }
      const prefix = components.slice(0, depth);
      const merged = await lookup.lookup(prefix.join('/'));
      if (merged === undefined) throw changedWhileWritten(shown);
      const created = createCopiedUpDirectory(dirFd, name, merged.stats);
      if (dirFd !== topFd) closeSync(dirFd);
      dirFd = created;
    }
    const last = components.at(-1) as string;
    const inTop = lstatSync(pathBeneath(dirFd, last), { throwIfNoEntry: false });
    const isInPlace = entry !== undefined && entry.layerIndex === 0;
    if (inTop !== undefined && !isInPlace) unlinkSync(pathBeneath(dirFd, last));
    const flags = constants.O_WRONLY | constants.O_CREAT | (isInPlace ? 0 : constants.O_EXCL);
    let fd: number;
    try {
      fd = openBeneath(dirFd, [last], flags, 0o600);
    } catch (error) {
      if (isSwappedPathError(error) || errorCode(error) === 'EEXIST')
        throw changedWhileWritten(shown, error);
      throw error;
    }
    try {
      if (!fstatSync(fd).isFile()) throw changedWhileWritten(shown);
      // Truncated through the descriptor, never by path.
      ftruncateSync(fd, 0);
      writeAll(fd, typeof data === 'string' ? Buffer.from(data) : data);
      if (!isInPlace) {
        // Replacing a lower file keeps its owner and mode, as a copy-up would.
        if (isRoot && entry !== undefined) fchownSync(fd, entry.stats.uid, entry.stats.gid);
        fchmodSync(fd, mode ?? (entry === undefined ? 0o644 : entry.stats.mode & 0o7777));
      } else if (mode !== undefined) {
        fchmodSync(fd, mode);
      }
    } finally {
      closeSync(fd);
    }
  } finally {
    if (dirFd !== topFd) closeSync(dirFd);
    closeSync(topFd);
  }
  const hostPath = join(top, ...components);
  return hostPath;
}

// The top layer's directory `name` below `dirFd`, undefined when it must be created (missing,
// or a whiteout hiding a lower directory, which is removed). A symlink or file there means
// the tree changed since it was resolved.
function openChildDirectory(dirFd: number, name: string, shown: string): number | undefined {
  try {
    return openDirectoryBeneath(dirFd, [name]);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    if (!isSwappedPathError(error)) throw error;
  }
  const stats = lstatSync(pathBeneath(dirFd, name), { throwIfNoEntry: false });
  // A leftover whiteout where the merged view shows a lower directory cannot happen in a
  // consistent stack; replace it rather than write under it.
  const isWhiteout =
    stats !== undefined &&
    ((stats.isCharacterDevice() && stats.rdev === 0) || (stats.isFile() && stats.size === 0));
  if (!isWhiteout) throw changedWhileWritten(shown);
  unlinkSync(pathBeneath(dirFd, name));
  return undefined;
}

// overlayfs's copy-up of a directory: mkdir below `dirFd`, then owner, mode and times set
// through a descriptor of the new directory.
function createCopiedUpDirectory(dirFd: number, name: string, like: Stats): number {
  mkdirSync(pathBeneath(dirFd, name), { mode: 0o700 });
  const fd = openSync(
    pathBeneath(dirFd, name),
    constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW,
  );
  try {
    if (isRoot) fchownSync(fd, like.uid, like.gid);
    fchmodSync(fd, like.mode & 0o7777);
    futimesSync(fd, like.atime, like.mtime);
    return openDirectoryBeneath(fd, []);
  } finally {
    closeSync(fd);
  }
}

function changedWhileWritten(shown: string, cause?: unknown): PolytheneError {
  return new PolytheneError(
    'POLYTHENE_USAGE',
    `cannot write ${shown}: the path changed while it was written (a symlink or file took the place of a directory); nothing was written outside the root filesystem, try again when the command changing it has finished`,
    cause === undefined ? undefined : { cause },
  );
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
}
