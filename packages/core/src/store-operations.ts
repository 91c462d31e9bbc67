import { hasErrorCode } from '@polythene/errors';
import {
  assertEntryName,
  assertEntryNameFree,
  assertEntryRef,
  claimEntryName,
  dropEntryNames,
  dropStaleEntryNames,
  type EntryMetadata,
  type PruneReport,
  parseDuration,
  readEntryNames,
  resolveEntryRef,
  type StoreEntry,
  type TreeDiff,
} from '@polythene/store';
import {
  type ApiForm,
  assertOptions,
  assertStringArgument,
  BACKEND_SOURCE_KINDS,
  describeValue,
  failUsage,
  isObject,
  kinds,
  type OptionKind,
  oneOf,
  STORE_OPTION_KINDS,
} from './check-arguments.ts';
import { type EntryFilters, matchesEntryFilters } from './entry-filters.ts';
import { createExecBackendChooser } from './exec/backend-selection.ts';
import type { BackendSource } from './exec/backend-source.ts';
import { silentLogger } from './logger.ts';
import { stopRunningUsers } from './stop-running-users.ts';
import { openStoreFromOptions, type StoreOptions } from './store-options.ts';

/** One entry as {@link list} reports it: the store's view plus its name, if it has one. */
export interface ListedEntry extends StoreEntry {
  /** The entry's name (see `polythene rename`), when it has one. */
  readonly name?: string;
}

/** Options for {@link list}. */
export interface ListOptions extends StoreOptions {
  /** Keep only entries matching these (see {@link EntryFilters}). */
  readonly filters?: EntryFilters;
}

const LIST: ApiForm = {
  name: 'list',
  form: "list(options), e.g. list({ filters: { name: ['dev*'] } })",
};
const LIST_OPTION_KINDS: Readonly<Record<keyof ListOptions, OptionKind>> = {
  ...STORE_OPTION_KINDS,
  filters: {
    expected: 'an object of pattern lists, { name?: string[], image?: string[] }',
    test: (value) =>
      isObject(value) &&
      Object.entries(value).every(
        ([key, patterns]) =>
          (key === 'name' || key === 'image') &&
          (patterns === undefined || kinds.stringArray.test(patterns)),
      ),
  },
};

/** Every entry in the store, orphans included, oldest first; an absent store lists empty. */
export async function list(options: ListOptions = {}): Promise<ListedEntry[]> {
  assertOptions(LIST, options, LIST_OPTION_KINDS);
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
  const names = await readEntryNames(store.dir);
  const entries: ListedEntry[] = (await store.list()).map((entry) => {
    const name = names.get(entry.id);
    return name === undefined ? entry : { ...entry, name };
  });
  const filters = options.filters;
  return filters === undefined
    ? entries
    : entries.filter((entry) =>
        matchesEntryFilters(filters, { name: entry.name, image: entry.metadata?.image }),
      );
}

/** The recorded metadata of one entry, by id or name. */
export async function inspect(ref: string, options: StoreOptions = {}): Promise<EntryMetadata> {
  assertRefAndStoreOptions({ name: 'inspect', form: 'inspect(idOrName, options)' }, ref, options);
  assertEntryRef(ref);
  const store = await openStoreFromOptions(options, false, 'read');
  return store.inspect(resolveEntryRef(store.dir, ref));
}

/** Options for {@link remove}. */
export interface RemoveOptions extends StoreOptions {
  /** Stop the commands running in the entries first (as a timeout does), then remove them. */
  readonly force?: boolean;
}

/**
 * Removes entries, by id or name, and their names. Every one is looked up before anything
 * is removed, so a typo in the middle of a list touches nothing. An entry commands run in is
 * refused (`POLYTHENE_ENTRY_IN_USE` naming their pids), unless `force`.
 */
export async function remove(refs: readonly string[], options: RemoveOptions = {}): Promise<void> {
  const api: ApiForm = {
    name: 'remove',
    form: "remove(idsOrNames, options), e.g. remove(['debian'])",
  };
  if (!Array.isArray(refs) || refs.some((ref) => typeof ref !== 'string')) {
    failUsage(api, `the entries must be an array of ids or names (got ${describeValue(refs)})`);
  }
  assertOptions(api, options, { ...STORE_OPTION_KINDS, force: kinds.boolean });
  for (const ref of refs) assertEntryRef(ref);
  const store = await openStoreFromOptions(options, false);
  const ids = refs.map((ref) => resolveEntryRef(store.dir, ref));
  for (const id of ids) await store.getEntry(id);
  for (const id of ids) {
    const pids = store.runningUsers(id);
    if (options.force === true && pids.length > 0) await stopRunningUsers(id, pids);
    await store.remove(id);
    await dropEntryNames(store.dir, id);
  }
}

/**
 * Gives an entry (by id or name) a new name, its only one. Throws `POLYTHENE_USAGE` for a
 * name breaking the rule and `POLYTHENE_NAME_TAKEN` when another entry has it.
 */
export async function rename(
  ref: string,
  name: string,
  options: StoreOptions = {},
): Promise<{ id: string; name: string }> {
  const api: ApiForm = { name: 'rename', form: 'rename(idOrName, newName, options)' };
  assertRefAndStoreOptions(api, ref, options);
  assertStringArgument(api, name, 'the new name');
  assertEntryRef(ref);
  assertEntryName(name);
  const store = await openStoreFromOptions(options, false);
  const id = resolveEntryRef(store.dir, ref);
  await store.rootfsPath(id);
  await claimEntryName(store.dir, name, id);
  return { id, name };
}

/** Options for {@link prune}. */
export interface PruneOptions extends StoreOptions {
  /** Only entries older than this: milliseconds, or a duration such as `7d` or `12h`. */
  readonly olderThan?: number | string;
}

/** Removes old entries, orphans, stale temporaries and names whose entry is gone. */
export async function prune(options: PruneOptions = {}): Promise<PruneReport> {
  assertOptions(
    { name: 'prune', form: "prune(options), e.g. prune({ olderThan: '7d' })" },
    options,
    { ...STORE_OPTION_KINDS, olderThan: kinds.numberOrString },
  );
  const store = await openStoreFromOptions(options, true);
  // Dead boxes' state goes first (their scratch layers are stale temporaries then).
  await (await import('./boxes/box-state.ts')).listBoxes(store.dir);
  const olderThanMs =
    typeof options.olderThan === 'string' ? parseDuration(options.olderThan) : options.olderThan;
  const report = await store.prune({ olderThanMs });
  await dropStaleEntryNames(store.dir);
  return report;
}

/** Options for {@link clone}. */
export interface CloneOptions extends StoreOptions, BackendSource {
  /**
   * `overlay`: constant-time, an overlayfs layer over the source (needs a backend that can
   * mount overlayfs to run it); `copy`: a full independent copy (reflinked where the
   * filesystem can); `auto` (default): overlay when a backend here can mount it, else copy.
   */
  readonly method?: 'auto' | 'overlay' | 'copy';
  /** Custom backend modules to consider for `auto`. */
  readonly backendModules?: readonly string[];
  /** A name for the new entry; see `rename`. A taken name fails before anything is copied. */
  readonly name?: string;
}

const CLONE_OPTION_KINDS: Readonly<Record<keyof CloneOptions, OptionKind>> = {
  ...STORE_OPTION_KINDS,
  ...BACKEND_SOURCE_KINDS,
  method: oneOf(['auto', 'overlay', 'copy']),
  backendModules: kinds.stringArray,
  name: kinds.string,
};

/**
 * A new entry holding an independent copy of entry `ref` (an id or a name); the source is
 * never modified. With `name`, a clone that loses a race for the name is removed again.
 */
export async function clone(ref: string, options: CloneOptions = {}): Promise<EntryMetadata> {
  const api: ApiForm = {
    name: 'clone',
    form: "clone(idOrName, options), e.g. clone('debian', { name: 'dev' })",
  };
  assertStringArgument(api, ref, "the first argument, the source entry's id or name,");
  assertOptions(api, options, CLONE_OPTION_KINDS);
  assertEntryRef(ref);
  if (options.name !== undefined) assertEntryName(options.name);
  const store = await openStoreFromOptions(options, false);
  const id = resolveEntryRef(store.dir, ref);
  if (options.name !== undefined) await assertEntryNameFree(store.dir, options.name);
  let method = options.method ?? 'auto';
  if (method === 'auto') {
    method = (await overlayRunsHere(options)) ? 'overlay' : 'copy';
  }
  const metadata = await store.cloneEntry(id, { method });
  if (options.name === undefined) return metadata;
  try {
    await claimEntryName(store.dir, options.name, metadata.id);
  } catch (error) {
    await store.remove(metadata.id).catch(() => undefined);
    throw error;
  }
  return metadata;
}

/** What changed in an entry (by id or name) since it was pulled or cloned. */
export async function diff(ref: string, options: StoreOptions = {}): Promise<TreeDiff> {
  assertRefAndStoreOptions({ name: 'diff', form: 'diff(idOrName, options)' }, ref, options);
  assertEntryRef(ref);
  const store = await openStoreFromOptions(options, false, 'read');
  return store.diffEntry(resolveEntryRef(store.dir, ref));
}

/** Options for {@link canRunOverlayHere}. */
export interface OverlayCheckOptions extends BackendSource {
  /** Environment holding `POLYTHENE_*`; default `process.env`. */
  readonly hostEnv?: Readonly<Record<string, string | undefined>>;
  /** Custom backend modules to consider too. */
  readonly backendModules?: readonly string[];
}

/**
 * True when one of the backends given can run a command on an overlay root here (cheap
 * clones and boxes); else copies are full copies. No backends: false. Probes are cached, so
 * this is cheap on repeat.
 */
export async function canRunOverlayHere(options: OverlayCheckOptions = {}): Promise<boolean> {
  assertOptions(
    { name: 'canRunOverlayHere', form: 'canRunOverlayHere({ backends, hostEnv, backendModules })' },
    options,
    {
      ...BACKEND_SOURCE_KINDS,
      hostEnv: kinds.env,
      backendModules: kinds.stringArray,
    } satisfies Record<keyof OverlayCheckOptions, OptionKind>,
  );
  return overlayRunsHere(options);
}

// canRunOverlayHere without the argument check, for callers whose options hold more (clone's).
async function overlayRunsHere(options: OverlayCheckOptions): Promise<boolean> {
  const hostEnv = options.hostEnv ?? process.env;
  const hasModules =
    (options.backendModules?.length ?? 0) > 0 || (hostEnv.POLYTHENE_BACKENDS ?? '').trim() !== '';
  if ((options.backends === undefined || options.backends.length === 0) && !hasModules) {
    return false;
  }
  const chooser = await createExecBackendChooser({
    preferred: hostEnv.POLYTHENE_ISOLATION || undefined,
    backendModules: options.backendModules,
    backends: options.backends,
    importModule: options.importModule,
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

// The shape of inspect, diff and rename: an entry's id or name, then the store options.
function assertRefAndStoreOptions(api: ApiForm, ref: unknown, options: unknown): void {
  assertStringArgument(api, ref, "the first argument, an entry's id or name,");
  assertOptions(api, options, STORE_OPTION_KINDS);
}
