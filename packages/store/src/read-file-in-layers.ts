import { closeSync, constants, fstatSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PolytheneError } from '@polythene/errors';
import { formatUntrusted } from './entry-id.ts';
import { createLayerLookup } from './layer-lookup.ts';
import {
  isSwappedPathError,
  O_PATH,
  openBeneath,
  openDirectoryBeneath,
  openDirectoryNoFollow,
} from './open-beneath.ts';
import { resolveLayeredPath } from './resolve-in-layers.ts';
import { errorCode } from './system-error.ts';

// A path the box keeps changing is resolved again this many times before we give up.
const ATTEMPTS = 3;

/**
 * Reads the regular file at `path` in the merged view of `layers` (host directories, top-most
 * first), resolved like {@link resolveInLayers}. The file is opened one component at a time
 * below its layer's directory, never following a symlink, so a command that swaps a directory
 * for a symlink meanwhile cannot make it read a host file. Returns undefined when the path
 * does not exist. Throws `POLYTHENE_USAGE` for a directory or special file, and when the
 * path keeps changing under the read.
 */
export async function readFileInLayers(
  layers: readonly string[],
  path: string,
): Promise<Buffer | undefined> {
  const fd = await openInLayers(layers, path, constants.O_RDONLY);
  if (fd === undefined) return undefined;
  try {
    if (!fstatSync(fd).isFile()) {
      throw new PolytheneError(
        'POLYTHENE_USAGE',
        `cannot read ${formatUntrusted(path)}: it is not a regular file`,
      );
    }
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * True when `path` exists in the merged view of `layers` (symlinks followed inside it), as
 * {@link readFileInLayers} would find it: what the answer is about was reached through real
 * directories of the layers, never through a symlink to the host.
 */
export async function existsInLayers(layers: readonly string[], path: string): Promise<boolean> {
  const fd = await openInLayers(layers, path, O_PATH);
  if (fd === undefined) return false;
  closeSync(fd);
  return true;
}

// Resolves `path` in the layers, then opens what it found through directory descriptors;
// undefined when it does not exist. Resolution looks at paths and can be fooled by a racing
// change, the open cannot: when they disagree, resolve again.
async function openInLayers(
  layers: readonly string[],
  path: string,
  flags: number,
): Promise<number | undefined> {
  const roots = layers.map((layer) => resolve(layer));
  for (let attempt = 1; ; attempt += 1) {
    const { components, entry } = await resolveLayeredPath(createLayerLookup(roots), path, true);
    if (entry === undefined) return undefined;
    const rootFd = openDirectoryNoFollow(roots[entry.layerIndex] as string);
    try {
      // The root itself: a directory, whatever `flags` asks for.
      if (components.length === 0) return openDirectoryBeneath(rootFd, []);
      return openBeneath(rootFd, components, flags);
    } catch (error) {
      const isRace = isSwappedPathError(error) || errorCode(error) === 'ENOENT';
      if (!isRace) throw error;
      if (attempt >= ATTEMPTS) {
        throw new PolytheneError(
          'POLYTHENE_USAGE',
          `cannot open ${formatUntrusted(path)}: the path kept changing while it was opened (a command is swapping files or symlinks); nothing outside the root filesystem was read, try again when it has finished`,
          { cause: error },
        );
      }
    } finally {
      closeSync(rootFd);
    }
  }
}
