import type { Stats } from 'node:fs';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import {
  type OverlayXattrReader,
  type OverlayXattrs,
  sharedOverlayXattrReader,
} from './overlay-xattrs.ts';
import { errorCode } from './system-error.ts';

/** One path of the merged view of a stack of layers, found by {@link LayerLookup.lookup}. */
export interface MergedEntry {
  /** The `lstat` of the top-most layer's copy, the one the merged view shows. */
  stats: Stats;
  /** Index (into the layers, top first) of that layer. */
  layerIndex: number;
  /** Host path of that copy. */
  hostPath: string;
  /** For a directory: the indexes of every layer whose directory is merged into it, top first. */
  dirLayers?: number[];
}

/**
 * Looks paths up in the merged view of overlayfs-style layers (top first) the way overlayfs
 * does, without mounting: a whiteout hides the path below it, an opaque directory hides the
 * lower directories' children, a non-directory hides everything below it. Paths are relative
 * (`''` is the root, `usr/bin` a child) and are never resolved through symlinks here.
 * Results are cached: make a new lookup after changing the layers.
 */
export interface LayerLookup {
  /** The merged entry at `relativePath`, or undefined when the merged view has none. */
  lookup(relativePath: string): Promise<MergedEntry | undefined>;
  /** The names the merged directory at `relativePath` shows (empty for a missing or non-directory). */
  listChildren(relativePath: string): Promise<Set<string>>;
  /** The overlay xattrs of a host path (cached). */
  xattrsOf(hostPath: string): Promise<OverlayXattrs>;
  /** True when `stats` of `hostPath` (whose parent directory is `parentHostPath`) is a whiteout. */
  isWhiteout(stats: Stats, hostPath: string, parentHostPath: string): Promise<boolean>;
}

/** Creates a {@link LayerLookup} over `layers` (host directories, top-most first). */
export function createLayerLookup(
  layers: readonly string[],
  reader: OverlayXattrReader = sharedOverlayXattrReader(),
): LayerLookup {
  const entries = new Map<string, Promise<MergedEntry | undefined>>();
  const xattrs = new Map<string, Promise<OverlayXattrs>>();

  function xattrsOf(hostPath: string): Promise<OverlayXattrs> {
    let found = xattrs.get(hostPath);
    if (found === undefined) {
      found = reader.read(hostPath);
      xattrs.set(hostPath, found);
    }
    return found;
  }

  async function isWhiteout(
    stats: Stats,
    hostPath: string,
    parentHostPath: string,
  ): Promise<boolean> {
    if (stats.isCharacterDevice()) return stats.rdev === 0;
    // The xattr form (kernel 6.7+): an empty file marked `overlay.whiteout`, only ever inside
    // a directory marked `overlay.opaque=x`, which saves a lookup for every other empty file.
    if (!stats.isFile() || stats.size !== 0) return false;
    if ((await xattrsOf(parentHostPath)).opaque !== 'x') return false;
    return (await xattrsOf(hostPath)).isWhiteout;
  }

  async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
    try {
      return await fs.lstat(path);
    } catch (error) {
      const code = errorCode(error);
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw error;
    }
  }

  // Which layers below `found` still merge into the directory at `relativePath`: down to the
  // first opaque one, stopping before a whiteout or a non-directory.
  async function mergedDirLayers(
    relativePath: string,
    found: number,
    candidates: readonly number[],
  ): Promise<number[]> {
    const dirLayers = [found];
    if ((await xattrsOf(join(layers[found] as string, relativePath))).opaque === 'y')
      return dirLayers;
    const parentRelative = parentOf(relativePath);
    for (const index of candidates) {
      if (index <= found) continue;
      const hostPath = join(layers[index] as string, relativePath);
      const stats = await lstatOrUndefined(hostPath);
      if (stats === undefined) continue;
      if (relativePath !== '') {
        const parentHost = join(layers[index] as string, parentRelative);
        if (await isWhiteout(stats, hostPath, parentHost)) break;
      }
      if (!stats.isDirectory()) break;
      dirLayers.push(index);
      if ((await xattrsOf(hostPath)).opaque === 'y') break;
    }
    return dirLayers;
  }

  async function findEntry(relativePath: string): Promise<MergedEntry | undefined> {
    if (relativePath === '') {
      const all = layers.map((_, index) => index);
      for (const index of all) {
        const hostPath = layers[index] as string;
        const stats = await lstatOrUndefined(hostPath);
        if (stats === undefined) continue;
        if (!stats.isDirectory()) return undefined;
        return {
          stats,
          layerIndex: index,
          hostPath,
          dirLayers: await mergedDirLayers('', index, all),
        };
      }
      return undefined;
    }
    const parent = await lookup(parentOf(relativePath));
    if (parent?.dirLayers === undefined) return undefined;
    for (const index of parent.dirLayers) {
      const hostPath = join(layers[index] as string, relativePath);
      const stats = await lstatOrUndefined(hostPath);
      if (stats === undefined) continue;
      const parentHost = join(layers[index] as string, parentOf(relativePath));
      if (await isWhiteout(stats, hostPath, parentHost)) return undefined;
      if (!stats.isDirectory()) return { stats, layerIndex: index, hostPath };
      return {
        stats,
        layerIndex: index,
        hostPath,
        dirLayers: await mergedDirLayers(relativePath, index, parent.dirLayers),
      };
    }
    return undefined;
  }

  function lookup(relativePath: string): Promise<MergedEntry | undefined> {
    let found = entries.get(relativePath);
    if (found === undefined) {
      found = findEntry(relativePath);
      entries.set(relativePath, found);
    }
    return found;
  }

  async function listChildren(relativePath: string): Promise<Set<string>> {
    const visible = new Set<string>();
    const entry = await lookup(relativePath);
    if (entry?.dirLayers === undefined) return visible;
    const hidden = new Set<string>();
    for (const index of entry.dirLayers) {
      const dirHost = join(layers[index] as string, relativePath);
      const names = await fs.readdir(dirHost).catch((error: unknown) => {
        if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return [];
        throw error;
      });
      for (const name of names) {
        if (visible.has(name) || hidden.has(name)) continue;
        const hostPath = join(dirHost, name);
        const stats = await lstatOrUndefined(hostPath);
        if (stats === undefined) continue;
        if (await isWhiteout(stats, hostPath, dirHost)) hidden.add(name);
        else visible.add(name);
      }
    }
    return visible;
  }

  return { lookup, listChildren, xattrsOf, isWhiteout };
}

/** `a/b` → `a`, `a` → `''`. */
export function parentOf(relativePath: string): string {
  const slash = relativePath.lastIndexOf('/');
  return slash < 0 ? '' : relativePath.slice(0, slash);
}

/** `''` + `b` → `b`, `a` + `b` → `a/b`. */
export function joinRelative(parent: string, name: string): string {
  return parent === '' ? name : `${parent}/${name}`;
}
