import type { OverlayLayers } from '@polythene/probe';
import type { Store } from '@polythene/store';
import {
  type ApiForm,
  assertStringArgument,
  describeValue,
  failUsage,
  isObject,
} from '../check-arguments.ts';

/** How a throwaway root is made: an overlay layer (constant time) or a full copy. */
export type ThrowawayRootMethod = 'overlay' | 'copy';

/**
 * A throwaway root over a store entry: `exec --ephemeral` runs on one, and the testkit's
 * boxes run every command on theirs (pass it as `exec`'s `root`). The entry is never written
 * to. Disposing it removes the scratch directory.
 */
export interface ThrowawayRoot extends AsyncDisposable {
  readonly method: ThrowawayRootMethod;
  /** The root directory a backend is given (the top lower layer, for an overlay). */
  readonly rootfs: string;
  /** The overlay layers (writes go to `upperDir`); undefined for a copy. */
  readonly overlay: OverlayLayers | undefined;
  /** The directories to look a path up in, top-most first (for reading and writing files). */
  readonly view: readonly string[];
  /** Words for verbose logs: how the root was made. */
  readonly description: string;
  /** Removes the scratch layer or copy; safe to call more than once. */
  dispose(): Promise<void>;
}

/**
 * Makes a throwaway root over entry `id`: an empty overlay layer over the entry's layers
 * (`overlay`; a backend that mounts overlayfs must run it), or a full copy (`copy`, reflinked
 * where the filesystem can). Both live in `<store>/.scratch-*` until disposed, and `prune`
 * removes those of processes that died.
 */
export async function createThrowawayRoot(
  store: Store,
  id: string,
  method: ThrowawayRootMethod,
): Promise<ThrowawayRoot> {
  const api: ApiForm = {
    name: 'createThrowawayRoot',
    form: "createThrowawayRoot(store, id, 'overlay' | 'copy') with a store from @polythene/store's openStore",
  };
  if (!isObject(store) || typeof store.createScratchLayer !== 'function') {
    failUsage(
      api,
      `the first argument must be an open Store, not a path (got ${describeValue(store)})`,
    );
  }
  assertStringArgument(api, id, "the second argument, the entry's id,");
  if (method !== 'overlay' && method !== 'copy') {
    failUsage(api, `the method must be 'overlay' or 'copy' (got ${describeValue(method)})`);
  }
  if (method === 'overlay') {
    const scratch = await store.createScratchLayer(id);
    const { lowerDirs, upperDir, workDir } = scratch;
    const dispose = (): Promise<void> => scratch.dispose();
    return {
      method,
      rootfs: lowerDirs[0] ?? upperDir,
      overlay: { lowerDirs, upperDir, workDir },
      view: [upperDir, ...lowerDirs],
      description: ` on a throwaway overlay ${upperDir}`,
      dispose,
      [Symbol.asyncDispose]: dispose,
    };
  }
  const copy = await store.createScratchCopy(id);
  const dispose = (): Promise<void> => copy.dispose();
  return {
    method,
    rootfs: copy.rootfs,
    overlay: undefined,
    view: [copy.rootfs],
    description: ` on a throwaway copy ${copy.rootfs}`,
    dispose,
    [Symbol.asyncDispose]: dispose,
  };
}
