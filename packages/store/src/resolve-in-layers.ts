import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { PolytheneError } from '@polythene/errors';
import { formatUntrusted } from './entry-id.ts';
import { createLayerLookup, type LayerLookup, type MergedEntry } from './layer-lookup.ts';

// Linux's limit on symlinks followed while resolving one path (MAXSYMLINKS).
const MAX_SYMLINKS = 40;

/** Options for {@link resolveInLayers}. */
export interface ResolveInLayersOptions {
  /** Follow a symlink in the last component too (default true); false resolves like `lstat`. */
  followFinalSymlink?: boolean;
}

/** Where {@link resolveInLayers} found a path. */
export interface LayerHit {
  /** Host path of the file the merged view shows: inside `layers[layerIndex]`. */
  hostPath: string;
  /** Index (into the layers, top first) of the layer holding it. */
  layerIndex: number;
}

/** A path resolved in the merged view, down to its first missing component. */
export interface LayeredResolution {
  /** Resolved components (symlinks followed, `..` applied) up to and including the last. */
  components: string[];
  /** The merged entry at `components`, undefined when it does not exist. */
  entry: MergedEntry | undefined;
  /** True when a component before the last is missing or not a directory. */
  isParentMissing: boolean;
}

/**
 * Resolves `path` in the merged view of `layers` (host directories, top-most first) as a
 * process chrooted at the overlay mount would: absolute symlinks restart at the merged root,
 * `..` stops there, whiteouts hide lower paths and opaque directories hide lower children.
 * Returns the host path of the top-most copy and its layer, never outside the layers, or
 * undefined when the path does not exist. Throws `POLYTHENE_USAGE` on a symlink loop.
 */
export async function resolveInLayers(
  layers: readonly string[],
  path: string,
  options: ResolveInLayersOptions = {},
): Promise<LayerHit | undefined> {
  const resolution = await resolveLayeredPath(
    createLayerLookup(layers.map((layer) => resolve(layer))),
    path,
    options.followFinalSymlink ?? true,
  );
  if (resolution.entry === undefined) return undefined;
  return { hostPath: resolution.entry.hostPath, layerIndex: resolution.entry.layerIndex };
}

/** The core of {@link resolveInLayers}, also telling where a missing path would be. */
export async function resolveLayeredPath(
  lookup: LayerLookup,
  path: string,
  followFinalSymlink: boolean,
): Promise<LayeredResolution> {
  const resolved: string[] = [];
  const remaining = splitPath(path);
  let linksFollowed = 0;
  let entry = await lookup.lookup('');
  while (remaining.length > 0) {
    const component = remaining.shift() as string;
    if (component === '.') continue;
    if (component === '..') {
      resolved.pop();
      entry = await lookup.lookup(resolved.join('/'));
      continue;
    }
    if (entry?.dirLayers === undefined) {
      // The parent is missing or not a directory: nothing below it exists.
      return {
        components: [...resolved, component, ...remaining.filter((part) => part !== '.')],
        entry: undefined,
        isParentMissing: true,
      };
    }
    resolved.push(component);
    entry = await lookup.lookup(resolved.join('/'));
    const isLast = remaining.length === 0;
    if (entry === undefined || !entry.stats.isSymbolicLink() || (isLast && !followFinalSymlink))
      continue;
    linksFollowed += 1;
    if (linksFollowed > MAX_SYMLINKS) {
      throw new PolytheneError(
        'POLYTHENE_USAGE',
        `cannot resolve ${formatUntrusted(path)} in the layers: too many levels of symbolic links (a symlink loop in the image); fix or remove the looping link`,
        { cause: Object.assign(new Error('ELOOP'), { code: 'ELOOP' }) },
      );
    }
    const target = await fs.readlink(entry.hostPath);
    resolved.pop();
    if (target.startsWith('/')) resolved.length = 0;
    remaining.unshift(...splitPath(target));
    entry = await lookup.lookup(resolved.join('/'));
  }
  return { components: resolved, entry, isParentMissing: false };
}

/** The host path of `components` inside layer `layer`. */
export function joinInLayer(layer: string, components: readonly string[]): string {
  return join(layer, ...components);
}

function splitPath(path: string): string[] {
  return path.split('/').filter((component) => component.length > 0);
}
