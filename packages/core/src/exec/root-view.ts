import { resolveInLayers, resolveInRootfs } from '@polythene/store';

/**
 * Finds a path inside a root as the command will see it: a plain rootfs directory, or an
 * overlay's layers (top-most first), resolved as if chrooted. Returns the host path; over
 * layers undefined when nothing is there, but over a plain rootfs the path it would have
 * even when it does not exist (check it before use). Undefined on a symlink loop.
 */
export type ResolveInRoot = (pathInside: string) => Promise<string | undefined>;

/** A resolver over `layers` (top-most first); one layer is a plain rootfs. */
export function createRootResolver(layers: readonly string[]): ResolveInRoot {
  const [top] = layers;
  if (layers.length === 1 && top !== undefined) {
    // The plain case stays on the cheap path: no overlay xattr reads.
    return async (pathInside) => {
      try {
        return await resolveInRootfs(top, pathInside, { followFinalSymlink: true });
      } catch {
        return undefined;
      }
    };
  }
  return async (pathInside) => {
    try {
      return (await resolveInLayers(layers, pathInside, { followFinalSymlink: true }))?.hostPath;
    } catch {
      return undefined;
    }
  };
}
