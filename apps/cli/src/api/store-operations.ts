import {
  type EntryMetadata,
  type PruneReport,
  parseDuration,
  type StoreEntry,
} from '@polythene/store';
import { openStoreFromOptions, type StoreOptions } from './store-options.ts';

/** Every entry in the store, orphans included, oldest first; an absent store lists empty. */
export async function list(options: StoreOptions = {}): Promise<StoreEntry[]> {
  const store = await openStoreFromOptions(options, true);
  return store.list();
}

/** The recorded metadata of one entry. */
export async function inspect(id: string, options: StoreOptions = {}): Promise<EntryMetadata> {
  const store = await openStoreFromOptions(options, false);
  return store.inspect(id);
}

/**
 * Removes entries. Every id is validated before anything is removed, so a typo in the
 * middle of a list touches nothing.
 */
export async function remove(ids: readonly string[], options: StoreOptions = {}): Promise<void> {
  const store = await openStoreFromOptions(options, false);
  for (const id of ids) await store.getEntry(id);
  for (const id of ids) await store.remove(id);
}

/** Options for {@link prune}. */
export interface PruneOptions extends StoreOptions {
  /** Only entries older than this: milliseconds, or a duration such as `7d` or `12h`. */
  readonly olderThan?: number | string;
}

/** Removes old entries, orphans and stale temporaries. */
export async function prune(options: PruneOptions = {}): Promise<PruneReport> {
  const store = await openStoreFromOptions(options, true);
  const olderThanMs =
    typeof options.olderThan === 'string' ? parseDuration(options.olderThan) : options.olderThan;
  return store.prune({ olderThanMs });
}
