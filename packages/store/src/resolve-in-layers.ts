import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { type PathKind, walkChrootPath } from '@polythene/host';
import { formatUntrusted } from './entry-id.ts';
import { createLayerLookup, type LayerLookup, type MergedEntry } from './layer-lookup.ts';

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
  const walk = walkChrootPath(path, {
    followFinalSymlink,
    describe: `${formatUntrusted(path)} in the layers`,
  });
  let step = walk.next();
  while (!step.done) {
    const { op, components } = step.value;
    const entry = await lookup.lookup(components.join('/'));
    if (op === 'readlink') {
      step = walk.next(await fs.readlink((entry as MergedEntry).hostPath));
      continue;
    }
    // A child of a missing path or of a non-directory does not exist in the merged view.
    const parent = await lookup.lookup(components.slice(0, -1).join('/'));
    const kind: PathKind =
      parent?.dirLayers === undefined || entry === undefined
        ? 'missing'
        : entry.stats.isSymbolicLink()
          ? 'symlink'
          : 'present';
    step = walk.next(kind);
  }
  const { components, missingFrom } = step.value;
  const entry =
    missingFrom < components.length ? undefined : await lookup.lookup(components.join('/'));
  return { components, entry, isParentMissing: missingFrom < components.length - 1 };
}

/** The host path of `components` inside layer `layer`. */
export function joinInLayer(layer: string, components: readonly string[]): string {
  return join(layer, ...components);
}
