import type { Stats } from 'node:fs';
import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { PolytheneError } from '@polythene/errors';
import { copyTree, runCp } from './copy-tree.ts';
import { createLayerLookup } from './layer-lookup.ts';
import type { OverlayXattrReader } from './overlay-xattrs.ts';
import { removeTree } from './remove-tree.ts';
import { describeError, errorCode } from './system-error.ts';

/** Options for {@link materializeLayers}. */
export interface MaterializeLayersOptions {
  /** Reads overlay xattrs; defaults to a shared helper process. */
  xattrReader?: OverlayXattrReader;
}

// Paths per `cp` run: bounded by the argument size limit, large enough to amortise the spawn.
const CP_BATCH_SIZE = 256;
const isRoot = process.getuid?.() === 0;

/**
 * Writes the merged view of `layers` (host directories, top-most first, as overlayfs
 * `lowerdir=` takes them plus the upper in front) into `target` as one plain tree, without
 * mounting anything: the bottom layer is copied whole with `cp -a --reflink=auto` (it is
 * taken as a plain tree: a `directory` entry), then each layer above is applied in turn:
 * whiteouts delete, opaque directories replace, other entries overwrite (copied with `cp -a`,
 * so hard links within a layer, modes, owners as root, times and xattrs are kept).
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
  for (let index = layers.length - 2; index >= 0; index -= 1) {
    await applyLayer(resolve(layers[index] as string), targetRoot, options.xattrReader);
  }
}

async function applyLayer(
  layerRoot: string,
  targetRoot: string,
  xattrReader: OverlayXattrReader | undefined,
): Promise<void> {
  const layer = createLayerLookup([layerRoot], xattrReader);
  const toCopy: string[] = [];
  // Directories whose attributes are set last, children before parents: adding entries
  // changes a directory's mtime, and a read-only mode would stop the additions.
  const dirs: Array<{ relativePath: string; stats: Stats }> = [];

  async function visit(relativePath: string, stats: Stats): Promise<void> {
    const dirHost = join(layerRoot, relativePath);
    const targetDir = join(targetRoot, relativePath);
    dirs.push({ relativePath, stats });
    await makeOwnerWritable(targetDir);
    if ((await layer.xattrsOf(dirHost)).opaque === 'y') {
      for (const name of await fs.readdir(targetDir)) await removeAnything(join(targetDir, name));
    }
    for (const name of await fs.readdir(dirHost)) {
      const childRelative = relativePath === '' ? name : `${relativePath}/${name}`;
      const hostPath = join(dirHost, name);
      const childStats = await fs.lstat(hostPath);
      const targetPath = join(targetRoot, childRelative);
      if (await layer.isWhiteout(childStats, hostPath, dirHost)) {
        await removeAnything(targetPath);
        continue;
      }
      if (!childStats.isDirectory()) {
        await removeAnything(targetPath);
        toCopy.push(childRelative);
        continue;
      }
      const existing = await fs.lstat(targetPath).catch(() => undefined);
      if (existing !== undefined && !existing.isDirectory()) await removeAnything(targetPath);
      if (existing === undefined || !existing.isDirectory())
        await fs.mkdir(targetPath, { mode: 0o700 });
      await visit(childRelative, childStats);
    }
  }

  await visit('', await fs.lstat(layerRoot));
  for (let start = 0; start < toCopy.length; start += CP_BATCH_SIZE) {
    const batch = toCopy.slice(start, start + CP_BATCH_SIZE);
    await runCp(['-a', '--reflink=auto', '--parents', '-t', targetRoot, '--', ...batch], {
      cwd: layerRoot,
    });
  }
  for (const { relativePath, stats } of dirs.reverse()) {
    const targetDir = join(targetRoot, relativePath);
    if (isRoot) await fs.lchown(targetDir, stats.uid, stats.gid);
    await fs.chmod(targetDir, stats.mode & 0o7777);
    await fs.utimes(targetDir, stats.atime, stats.mtime);
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
