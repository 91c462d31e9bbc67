import { constants, promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { PolytheneError } from '@polythene/errors';
import { formatUntrusted } from './entry-id.ts';
import { createLayerLookup } from './layer-lookup.ts';
import { resolveLayeredPath } from './resolve-in-layers.ts';

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
  for (let depth = 1; depth < components.length; depth += 1) {
    const prefix = components.slice(0, depth);
    const topPath = join(top, ...prefix);
    const existing = await fs.lstat(topPath).catch(() => undefined);
    if (existing?.isDirectory()) continue;
    const merged = await lookup.lookup(prefix.join('/'));
    if (merged === undefined) throw new Error(`layered parent ${prefix.join('/')} vanished`);
    // A leftover whiteout where the merged view shows a lower directory cannot happen in a
    // consistent stack; replace it rather than write under it.
    if (existing !== undefined) await fs.unlink(topPath);
    await fs.mkdir(topPath, { mode: 0o700 });
    if (isRoot) await fs.lchown(topPath, merged.stats.uid, merged.stats.gid);
    await fs.chmod(topPath, merged.stats.mode & 0o7777);
    await fs.utimes(topPath, merged.stats.atime, merged.stats.mtime);
  }
  const hostPath = join(top, ...components);
  const inTop = await fs.lstat(hostPath).catch(() => undefined);
  if (inTop !== undefined && (entry === undefined || entry.layerIndex !== 0))
    await fs.unlink(hostPath);
  const isInPlace = entry !== undefined && entry.layerIndex === 0;
  const flags =
    constants.O_WRONLY |
    constants.O_CREAT |
    constants.O_TRUNC |
    constants.O_NOFOLLOW |
    (isInPlace ? 0 : constants.O_EXCL);
  const handle = await fs.open(hostPath, flags, 0o600);
  try {
    await handle.writeFile(data);
    if (!isInPlace) {
      // Replacing a lower file keeps its owner and mode, as a copy-up would.
      if (isRoot && entry !== undefined) await handle.chown(entry.stats.uid, entry.stats.gid);
      await handle.chmod(mode ?? (entry === undefined ? 0o644 : entry.stats.mode & 0o7777));
    } else if (mode !== undefined) {
      await handle.chmod(mode);
    }
  } finally {
    await handle.close();
  }
  return hostPath;
}
