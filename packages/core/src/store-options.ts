import { openStore, resolveStoreDir, type Store } from '@polythene/store';

/** Options every store-touching API call accepts. */
export interface StoreOptions {
  /**
   * Store directory; else `POLYTHENE_STORE`, else `/var/tmp/polythene` for root and
   * `/var/tmp/polythene-<uid>` for anyone else.
   */
  readonly store?: string;
  /** The environment to read `POLYTHENE_*` from; defaults to `process.env`. */
  readonly hostEnv?: Readonly<Record<string, string | undefined>>;
}

/**
 * Opens the store the options name; `create` makes it (0700) when missing. `access` `write`
 * (the default) refuses a store someone else could change; `read` is for list and inspect.
 */
export async function openStoreFromOptions(
  options: StoreOptions,
  create: boolean,
  access: 'read' | 'write' = 'write',
): Promise<Store> {
  const dir = resolveStoreDir({ flag: options.store, env: options.hostEnv ?? process.env });
  return openStore(dir, { create, access });
}
