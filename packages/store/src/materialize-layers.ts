import type { Stats } from 'node:fs';
import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { PolytheneError } from '@polythene/errors';
import { copyTree } from './copy-tree.ts';
import { createLayerLookup, joinRelative, type LayerLookup } from './layer-lookup.ts';
import { type OverlayXattrReader, sharedOverlayXattrReader } from './overlay-xattrs.ts';
import { removeTree } from './remove-tree.ts';
import { describeError, errorCode } from './system-error.ts';

/** Options for {@link materializeLayers}. */
export interface MaterializeLayersOptions {
  /** Reads overlay xattrs; defaults to a shared helper process. */
  xattrReader?: OverlayXattrReader;
}

const isRoot = process.getuid?.() === 0;

/**
 * Writes the merged view of `layers` (host directories, top-most first, as overlayfs
 * `lowerdir=` takes them plus the upper in front) into `target` as one plain tree, without
 * mounting anything: the bottom layer is copied whole (it is taken as a plain tree: a
 * `directory` entry), then each layer above is applied in turn: whiteouts delete, opaque
 * directories replace, other entries overwrite.
 *
 * Every layer is read only by {@link copyTree} (a GNU tar pipe, which walks the layer through
 * directory descriptors and never follows a symlink): an upper layer is first copied whole
 * into a private staging directory inside `target`, and the staged entries are then moved
 * into place by rename. A command still running in an upper layer (an overlay entry's upper
 * is writable from inside its box) can therefore swap a directory for a symlink to a host
 * directory at any moment without a host file ever being read into the copy; everything
 * after the tar pipe only touches `target`, which no box can reach. Hard links within a
 * layer, modes, owners (as root), nanosecond times, xattrs and device nodes are kept.
 * `target` must be missing or an empty directory. Throws `POLYTHENE_STORE_UNAVAILABLE` when
 * a copy fails.
 */
export async function materializeLayers(
  layers: readonly string[],
  target: string,
  options: MaterializeLayersOptions = {},
): Promise<void> {
  const bottom = layers.at(-1);
  if (bottom === undefined) {
    throw new PolytheneError('POLYTHENE_USAGE', 'materializeLayers needs at least one layer');
  }
  const targetRoot = resolve(target);
  await fs.mkdir(targetRoot, { recursive: true, mode: 0o700 });
  if ((await fs.readdir(targetRoot)).length > 0) {
    throw new PolytheneError(
      'POLYTHENE_USAGE',
      `cannot materialize layers into ${targetRoot}: it is not empty; pass a new or empty directory`,
    );
  }
  await copyTree(resolve(bottom), targetRoot);
  const reader = options.xattrReader ?? sharedOverlayXattrReader();
  for (let index = layers.length - 2; index >= 0; index -= 1) {
    await applyLayer(resolve(layers[index] as string), targetRoot, reader);
  }
}

interface DirAttributes {
  path: string;
  stats: Stats;
}

async function applyLayer(
  layerRoot: string,
  targetRoot: string,
  reader: OverlayXattrReader,
): Promise<void> {
  // Web Crypto, not node:crypto: no start-up cost for commands that never get here.
  const stageName = `.polythene-layer-${globalThis.crypto.randomUUID()}`;
  const stageRoot = join(targetRoot, stageName);
  // Directories whose attributes are set last, children before parents: adding entries
  // changes a directory's mtime, and a read-only mode would stop the additions.
  const dirs: DirAttributes[] = [];
  await fs.mkdir(stageRoot, { mode: 0o700 });
  try {
    await copyTree(layerRoot, stageRoot);
    const staged = createLayerLookup([stageRoot], reader);
    await mergeDirectory(staged, stageRoot, targetRoot, '', stageName, dirs);
  } finally {
    await removeTree(stageRoot);
  }
  for (const { path, stats } of dirs.reverse()) {
    if (isRoot) await fs.lchown(path, stats.uid, stats.gid);
    await fs.chmod(path, stats.mode & 0o7777);
    await fs.utimes(path, stats.atime, stats.mtime);
  }
}

// Applies the staged directory `relativePath` to the target directory of the same path, which
// exists and is a real directory (never a symlink: both trees are private here).
async function mergeDirectory(
  staged: LayerLookup,
  stageRoot: string,
  targetRoot: string,
  relativePath: string,
  stageName: string,
  dirs: DirAttributes[],
): Promise<void> {
  const stagedDir = join(stageRoot, relativePath);
  const targetDir = join(targetRoot, relativePath);
  dirs.push({ path: targetDir, stats: await fs.lstat(stagedDir) });
  await makeOwnerWritable(targetDir);
  await makeOwnerWritable(stagedDir);
  if ((await staged.xattrsOf(stagedDir)).opaque === 'y') {
    for (const name of await fs.readdir(targetDir)) {
      if (relativePath === '' && name === stageName) continue;
      await removeAnything(join(targetDir, name));
    }
  }
  for (const name of await fs.readdir(stagedDir)) {
    if (relativePath === '' && name === stageName) {
      throw new PolytheneError(
        'POLYTHENE_STORE_UNAVAILABLE',
        `cannot materialize layers: a layer holds /${stageName}, the name of the staging directory; try again`,
      );
    }
    const childRelative = joinRelative(relativePath, name);
    const stagedPath = join(stagedDir, name);
    const targetPath = join(targetDir, name);
    const childStats = await fs.lstat(stagedPath);
    if (await staged.isWhiteout(childStats, stagedPath, stagedDir)) {
      await removeAnything(targetPath);
      continue;
    }
    const existing = await fs.lstat(targetPath).catch(() => undefined);
    if (childStats.isDirectory() && existing?.isDirectory()) {
      await mergeDirectory(staged, stageRoot, targetRoot, childRelative, stageName, dirs);
      continue;
    }
    if (existing !== undefined) await removeAnything(targetPath);
    await fs.rename(stagedPath, targetPath);
    if (childStats.isDirectory()) await dropWhiteouts(staged, targetPath, dirs);
  }
}

// A directory the layer adds whole was moved into place with everything in it; the merged
// view shows none of its whiteouts (there is nothing below them to hide), so they go. Its
// attributes (read before any change) are set again at the end, as its mtime may change.
async function dropWhiteouts(
  lookup: LayerLookup,
  dir: string,
  dirs: DirAttributes[],
): Promise<void> {
  dirs.push({ path: dir, stats: await fs.lstat(dir) });
  await makeOwnerWritable(dir);
  for (const name of await fs.readdir(dir)) {
    const child = join(dir, name);
    const childStats = await fs.lstat(child);
    if (await lookup.isWhiteout(childStats, child, dir)) await fs.unlink(child);
    else if (childStats.isDirectory()) await dropWhiteouts(lookup, child, dirs);
  }
}

async function makeOwnerWritable(dir: string): Promise<void> {
  if (isRoot) return;
  const stats = await fs.lstat(dir);
  if ((stats.mode & 0o700) !== 0o700) await fs.chmod(dir, (stats.mode & 0o7777) | 0o700);
}

// Deletes a file, symlink or whole directory tree; a missing path is fine.
async function removeAnything(path: string): Promise<void> {
  const stats = await fs.lstat(path).catch(() => undefined);
  if (stats === undefined) return;
  try {
    if (stats.isDirectory()) await removeTree(path);
    else await fs.unlink(path);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return;
    if (errorCode(error) === 'EISDIR') await fs.rmdir(path);
    else
      throw new PolytheneError(
        'POLYTHENE_STORE_UNAVAILABLE',
        `cannot replace ${path} while materializing layers: ${describeError(error)}`,
        { cause: error },
      );
  }
}
