import { accessSync, constants, promises as fs, type Stats, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { PolytheneError } from '@polythene/errors';
import { assertStoreOwned } from './assert-store-owned.ts';
import { findRunningUsers, markInUse } from './in-use-marks.ts';
import { createEntryLister } from './list-store-entries.ts';
import { type CreateEntryOptions, createPendingEntry } from './pending-entry.ts';
import { createEntryCloner } from './store-clone.ts';
import { createEntryReader } from './store-entries.ts';
import { createStoreLayout, HINT } from './store-layout.ts';
import { createStoreRemoval } from './store-removal.ts';
import { createStoreScratch } from './store-scratch.ts';
import type { Store } from './store-types.ts';
import { createStoreUsers } from './store-users.ts';
import { describeError, errorCode } from './system-error.ts';

export type {
  CloneEntryOptions,
  EntryLayers,
  PruneOptions,
  PruneReport,
  Store,
  StoreEntry,
} from './store-types.ts';

/** Options for {@link openStore}. */
export interface OpenStoreOptions {
  /** Create the directory (mode 0700, parents as needed) when missing; default true. */
  create?: boolean;
  /**
   * `write` (the default) refuses a store someone else could change (see
   * `assertStoreOwned`): anything that adds, runs or removes entries. `read` skips that
   * check, for listing and inspecting.
   */
  access?: 'read' | 'write';
}

/**
 * Opens the store at `dir` (made absolute). With `create` (the default) a missing store is
 * created with mode 0700. Throws `POLYTHENE_STORE_UNAVAILABLE` when it is missing, not a
 * directory, or not readable, and (unless `access` is `read`) when someone else could change
 * it: not owned by the running user, writable by others, or below a directory another user
 * could rename it out of (see `assertStoreOwned`).
 */
export async function openStore(dir: string, options: OpenStoreOptions = {}): Promise<Store> {
  const storeDir = resolve(dir);
  if (options.create ?? true) await createStoreDir(storeDir);
  let stats: Stats;
  try {
    stats = statSync(storeDir);
    accessSync(storeDir, constants.R_OK | constants.X_OK);
  } catch (error) {
    const reason =
      errorCode(error) === 'ENOENT'
        ? 'does not exist (run `polythene pull` to create it)'
        : describeError(error);
    throw new PolytheneError(
      'POLYTHENE_STORE_UNAVAILABLE',
      `store ${storeDir} ${reason}; ${HINT}`,
      { cause: error },
    );
  }
  if (!stats.isDirectory()) {
    throw new PolytheneError(
      'POLYTHENE_STORE_UNAVAILABLE',
      `store ${storeDir} is not a directory; ${HINT}`,
    );
  }
  if ((options.access ?? 'write') === 'write') assertStoreOwned(storeDir);
  return createStore(storeDir);
}

async function createStoreDir(storeDir: string): Promise<void> {
  try {
    // Parents get the usual mode; only the store itself is private.
    await fs.mkdir(dirname(storeDir), { recursive: true });
    await fs.mkdir(storeDir, { mode: 0o700 });
    await fs.chmod(storeDir, 0o700);
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return;
    throw new PolytheneError(
      'POLYTHENE_STORE_UNAVAILABLE',
      `cannot create store ${storeDir}: ${describeError(error)}; ${HINT}`,
      {
        cause: error,
      },
    );
  }
}

// The composer: each concern is its own module (layout, reading entries, users of an entry,
// removal and pruning, cloning, scratch roots); this only wires them together.
function createStore(dir: string): Store {
  const layout = createStoreLayout(dir);
  const reader = createEntryReader(layout);
  const users = createStoreUsers(layout, reader);
  const list = createEntryLister(layout, reader);
  const removal = createStoreRemoval(layout, reader, users, list);
  const scratch = createStoreScratch(layout, reader);
  return {
    dir,
    createEntry: (options?: CreateEntryOptions) => createPendingEntry(dir, options),
    rootfsPath: reader.rootfsPath,
    inspect: reader.inspect,
    getEntry: reader.getEntry,
    list,
    remove: removal.remove,
    markInUse: (id) => markInUse(dir, id),
    runningUsers: (id) => findRunningUsers(dir, id),
    prune: removal.prune,
    clearStaleTemporaries: removal.clearStaleTemporaries,
    cloneEntry: createEntryCloner(layout, reader, users),
    dependentsOf: users.dependentsOf,
    diffEntry: reader.diffEntry,
    entryLayers: reader.entryLayers,
    entryLayersAndMetadata: reader.entryLayersAndMetadata,
    createScratchLayer: scratch.createScratchLayer,
    createScratchCopy: scratch.createScratchCopy,
  };
}
