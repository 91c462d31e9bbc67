import { hasErrorCode } from '@polythene/errors';
import {
  assertEntryId,
  type EntryMetadata,
  type PruneReport,
  parseDuration,
  type StoreEntry,
  type TreeDiff,
} from '@polythene/store';
import { silentLogger } from '../logger.ts';
import { createExecBackendChooser } from './exec/backend-selection.ts';
import { stopRunningUsers } from './stop-running-users.ts';
import { openStoreFromOptions, type StoreOptions } from './store-options.ts';

/** Every entry in the store, orphans included, oldest first; an absent store lists empty. */
export async function list(options: StoreOptions = {}): Promise<StoreEntry[]> {
  let store: Awaited<ReturnType<typeof openStoreFromOptions>>;
  try {
    // A read-only command never creates the store (nor its parents).
    store = await openStoreFromOptions(options, false, 'read');
  } catch (error) {
    const cause =
      error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
    if (hasErrorCode(error, 'POLYTHENE_STORE_UNAVAILABLE') && cause?.code === 'ENOENT') return [];
    throw error;
  }
  return store.list();
}

/** The recorded metadata of one entry. */
export async function inspect(id: string, options: StoreOptions = {}): Promise<EntryMetadata> {
  assertEntryId(id);
  const store = await openStoreFromOptions(options, false, 'read');
  return store.inspect(id);
}

/** Options for {@link remove}. */
export interface RemoveOptions extends StoreOptions {
  /** Stop the commands running in the entries first (as a timeout does), then remove them. */
  readonly force?: boolean;
}

/**
 * Removes entries. Every id is validated before anything is removed, so a typo in the
 * middle of a list touches nothing. An entry commands run in is refused
 * (`POLYTHENE_ENTRY_IN_USE` naming their pids), unless `force`.
 */
export async function remove(ids: readonly string[], options: RemoveOptions = {}): Promise<void> {
  for (const id of ids) assertEntryId(id);
  const store = await openStoreFromOptions(options, false);
  for (const id of ids) await store.getEntry(id);
  for (const id of ids) {
    const pids = store.runningUsers(id);
    if (options.force === true && pids.length > 0) await stopRunningUsers(id, pids);
    await store.remove(id);
  }
}

/** Options for {@link prune}. */
export interface PruneOptions extends StoreOptions {
  /** Only entries older than this: milliseconds, or a duration such as `7d` or `12h`. */
  readonly olderThan?: number | string;
}

/** Removes old entries, orphans and stale temporaries. */
export async function prune(options: PruneOptions = {}): Promise<PruneReport> {
  const store = await openStoreFromOptions(options, true);
  // Dead boxes' state goes first (their scratch layers are stale temporaries then).
  await (await import('./boxes/box-state.ts')).listBoxes(store.dir);
  const olderThanMs =
    typeof options.olderThan === 'string' ? parseDuration(options.olderThan) : options.olderThan;
  return store.prune({ olderThanMs });
}

/** Options for {@link clone}. */
export interface CloneOptions extends StoreOptions {
  /**
   * `overlay`: constant-time, an overlayfs layer over the source (needs a backend that can
   * mount overlayfs to run it); `copy`: a full independent copy (reflinked where the
   * filesystem can); `auto` (default): overlay when a backend here can mount it, else copy.
   */
  readonly method?: 'auto' | 'overlay' | 'copy';
  /** Custom backend modules to consider for `auto`. */
  readonly backendModules?: readonly string[];
}

/** A new entry holding an independent copy of `id`; the source is never modified. */
export async function clone(id: string, options: CloneOptions = {}): Promise<EntryMetadata> {
  assertEntryId(id);
  const store = await openStoreFromOptions(options, false);
  let method = options.method ?? 'auto';
  if (method === 'auto') {
    const hostEnv = options.hostEnv ?? process.env;
    method = (await canRunOverlayHere(hostEnv, options.backendModules)) ? 'overlay' : 'copy';
  }
  return store.cloneEntry(id, { method });
}

/** What changed in an entry since it was pulled or cloned. */
export async function diff(id: string, options: StoreOptions = {}): Promise<TreeDiff> {
  assertEntryId(id);
  const store = await openStoreFromOptions(options, false, 'read');
  return store.diffEntry(id);
}

/**
 * True when a backend here can run a command on an overlay root (cheap clones and boxes);
 * else copies are full copies. Probes are cached, so this is cheap on repeat.
 */
export async function canRunOverlayHere(
  hostEnv: Readonly<Record<string, string | undefined>> = process.env,
  backendModules?: readonly string[],
): Promise<boolean> {
  const chooser = await createExecBackendChooser({
    preferred: hostEnv.POLYTHENE_ISOLATION || undefined,
    backendModules,
    hostEnv,
    cwd: process.cwd(),
    strict: false,
    logger: silentLogger,
  });
  try {
    await chooser.choose([], { needsOverlay: true });
    return true;
  } catch {
    return false;
  }
}
