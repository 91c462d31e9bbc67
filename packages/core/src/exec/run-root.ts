import type { OverlayLayers } from '@polythene/probe';
import type { EntryLayers, Store } from '@polythene/store';
import type { ExecOptions } from './exec-options.ts';
import { assertStoreWritableFor } from './read-only-store.ts';
import { createThrowawayRoot } from './throwaway-root.ts';

// Which root one exec runs on: the entry's own, its overlay clone layers, a given throwaway
// root or directory, or (ephemeral) a fresh throwaway root disposed when the run ends.

/** The options with a given throwaway `root` as its overlay `layers`, or a copy as `rootfs`. */
export function withRoot(options: ExecOptions): ExecOptions {
  const { root } = options;
  if (root === undefined) return options;
  return root.overlay === undefined
    ? { ...options, rootfs: root.rootfs }
    : { ...options, layers: root.overlay };
}

/** The root one run uses, disposed (scratch layers and copies removed) when the run ends. */
export interface RunRoot extends AsyncDisposable {
  readonly rootfs: string;
  readonly overlay: OverlayLayers | undefined;
  /** For verbose logs: how the root was made. */
  readonly description: string;
}

/**
 * The root for one run: a given `rootfs` or overlay, a throwaway root when ephemeral (copy
 * when the backend cannot mount overlayfs), the entry's overlay clone layers, or its rootfs.
 */
export async function prepareRunRoot(
  store: Store,
  id: string,
  entry: EntryLayers,
  options: {
    isEphemeral: boolean;
    canOverlay: boolean;
    explicit: OverlayLayers | undefined;
    explicitRootfs: string | undefined;
  },
): Promise<RunRoot> {
  const noDispose = async (): Promise<void> => {};
  if (options.explicitRootfs !== undefined) {
    return {
      rootfs: options.explicitRootfs,
      overlay: undefined,
      description: ` in ${options.explicitRootfs}`,
      [Symbol.asyncDispose]: noDispose,
    };
  }
  if (options.explicit) {
    const { lowerDirs, upperDir } = options.explicit;
    return {
      rootfs: lowerDirs[0] ?? upperDir,
      overlay: options.explicit,
      description: ` on the given overlay`,
      [Symbol.asyncDispose]: noDispose,
    };
  }
  if (options.isEphemeral) {
    await assertStoreWritableFor({ kind: 'ephemeral' }, store.dir);
    // A backend without overlayfs gets a throwaway full copy: slower, same semantics.
    return createThrowawayRoot(store, id, options.canOverlay ? 'overlay' : 'copy');
  }
  if (entry.layout === 'overlay') {
    const { lowerDirs, upperDir, workDir } = entry;
    await assertStoreWritableFor({ kind: 'overlay-clone', id, upperDir }, store.dir);
    return {
      rootfs: lowerDirs[0] ?? upperDir,
      overlay: { lowerDirs, upperDir, workDir },
      description: ` on overlay clone ${upperDir}`,
      [Symbol.asyncDispose]: noDispose,
    };
  }
  return {
    rootfs: entry.rootfs,
    overlay: undefined,
    description: '',
    [Symbol.asyncDispose]: noDispose,
  };
}
