import type { Stats } from 'node:fs';
import {
  access,
  chmod,
  constants,
  lstat,
  mkdir,
  readdir,
  readFile,
  rename,
  stat,
  unlink,
} from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { hasErrorCode, PolytheneError } from '@polythene/errors';
import { assertEntryId } from './entry-id.ts';
import { type EntryMetadata, parseEntryMetadata } from './entry-metadata.ts';
import { isProcessAlive } from './is-process-alive.ts';
import { createPendingEntry, type PendingEntry } from './pending-entry.ts';
import { removeTree } from './remove-tree.ts';
import { metadataName, parseEntryName, parseTemporaryName, trashName } from './store-names.ts';
import { describeError, errorCode } from './system-error.ts';

/** One entry as `list` reports it, damaged ones included. */
export interface StoreEntry {
  /** The entry id. */
  id: string;
  /** Host path of the rootfs, `<store>/<id>` (it does not exist when `status` is `missing-rootfs`). */
  path: string;
  /**
   * `ok`: rootfs and valid metadata. `missing-metadata`: a rootfs whose metadata file is
   * absent or unreadable (made by hand, or by an older tool); it still runs. `missing-rootfs`:
   * metadata left behind without its rootfs (e.g. after `rm -rf <store>/<id>`); `prune`
   * removes it.
   */
  status: 'ok' | 'missing-metadata' | 'missing-rootfs';
  /** The metadata, when readable and valid. */
  metadata?: EntryMetadata;
  /** ISO 8601 creation time: the metadata's, else the rootfs directory's mtime. */
  createdAt: string;
  /** Apparent rootfs size in bytes, when the metadata records it. */
  sizeBytes?: number;
}

/** Options for {@link Store.prune}. */
export interface PruneOptions {
  /** Also remove entries created more than this many milliseconds before `now`; without it only orphans and stale temporaries go. */
  olderThanMs?: number;
  /** The reference time for `olderThanMs`; defaults to the current time. */
  now?: Date;
}

/** What {@link Store.prune} removed. */
export interface PruneReport {
  /** Ids of entries (rootfs and metadata) removed for their age. */
  removedIds: string[];
  /** Stale `.tmp-*`/`.trash-*` leftovers of crashed pulls and removals removed. */
  removedTemporaries: number;
  /** Metadata files without a rootfs removed. */
  removedOrphanMetadata: number;
}

/** Options for {@link openStore}. */
export interface OpenStoreOptions {
  /** Create the directory (mode 0700, parents as needed) when missing; default true. */
  create?: boolean;
}

/** A store directory holding root filesystems `<dir>/<id>` and their metadata `<dir>/<id>.json`. */
export interface Store {
  /** Absolute path of the store directory. */
  readonly dir: string;
  /** Starts a new entry in a temporary directory; see {@link PendingEntry}. */
  createEntry(): Promise<PendingEntry>;
  /**
   * The host path of entry `id`'s rootfs. Throws `POLYTHENE_INVALID_ID` for a malformed id
   * or an entry that is a symlink or not a directory, `POLYTHENE_ROOTFS_NOT_FOUND` when absent.
   */
  rootfsPath(id: string): Promise<string>;
  /**
   * The metadata of entry `id`. Validates like {@link Store.rootfsPath} (no rootfs:
   * `POLYTHENE_ROOTFS_NOT_FOUND`); a rootfs whose metadata is missing or invalid throws
   * `POLYTHENE_INVALID_ID`. Use {@link Store.getEntry} to accept such entries.
   */
  inspect(id: string): Promise<EntryMetadata>;
  /**
   * Entry `id` with its status, like one row of `list`: tolerates missing metadata and
   * orphan metadata. Throws `POLYTHENE_INVALID_ID` (malformed, symlinked) or
   * `POLYTHENE_ROOTFS_NOT_FOUND` (neither rootfs nor metadata).
   */
  getEntry(id: string): Promise<StoreEntry>;
  /** Every entry, oldest first (then by id). Never throws because of one bad entry. */
  list(): Promise<StoreEntry[]>;
  /**
   * Removes entry `id` (rootfs and metadata, or orphan metadata alone). Of concurrent
   * removals of one id exactly one succeeds; the others get `POLYTHENE_ROOTFS_NOT_FOUND`.
   */
  remove(id: string): Promise<void>;
  /** Removes stale temporaries, orphan metadata, and entries older than `olderThanMs`. */
  prune(options?: PruneOptions): Promise<PruneReport>;
  /**
   * Removes temporaries left by processes that no longer exist; never a live pull's or
   * removal's. Best effort: a leftover that cannot be deleted is skipped. Returns how many went.
   */
  clearStaleTemporaries(): Promise<number>;
}

const HINT = 'pass --store DIR or set POLYTHENE_STORE to a writable directory';

/**
 * Opens the store at `dir` (made absolute). With `create` (the default) a missing store is
 * created with mode 0700; an existing one is used as is (see `checkStorePermissions`).
 * Throws `POLYTHENE_STORE_UNAVAILABLE` when it is missing, not a directory, or not readable.
 */
export async function openStore(dir: string, options: OpenStoreOptions = {}): Promise<Store> {
  const storeDir = resolve(dir);
  if (options.create ?? true) await createStoreDir(storeDir);
  let stats: Stats;
  try {
    stats = await stat(storeDir);
    await access(storeDir, constants.R_OK | constants.X_OK);
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
  return createStore(storeDir);
}

async function createStoreDir(storeDir: string): Promise<void> {
  try {
    // Parents get the usual mode; only the store itself is private.
    await mkdir(dirname(storeDir), { recursive: true });
    await mkdir(storeDir, { mode: 0o700 });
    await chmod(storeDir, 0o700);
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

function createStore(dir: string): Store {
  const entryPath = (id: string): string => join(dir, id);
  const metadataPath = (id: string): string => join(dir, metadataName(id));

  function notFound(id: string): PolytheneError {
    return new PolytheneError(
      'POLYTHENE_ROOTFS_NOT_FOUND',
      `no root filesystem ${id} in store ${dir}: run \`polythene list\` to see entries, or \`polythene pull IMAGE\` to make one`,
    );
  }

  // lstat of the rootfs, refusing anything but a real directory; undefined when absent.
  async function lstatRootfs(id: string): Promise<Stats | undefined> {
    const path = entryPath(id);
    const stats = await lstat(path).catch((error: unknown) => {
      if (errorCode(error) === 'ENOENT') return undefined;
      throw new PolytheneError(
        'POLYTHENE_STORE_UNAVAILABLE',
        `cannot read store entry ${path}: ${describeError(error)}; ${HINT}`,
        {
          cause: error,
        },
      );
    });
    if (stats === undefined || stats.isDirectory()) return stats;
    const what = stats.isSymbolicLink() ? 'a symbolic link' : 'not a directory';
    throw new PolytheneError(
      'POLYTHENE_INVALID_ID',
      `store entry ${path} is ${what}; polythene only uses real directories it created: delete it with \`rm ${path}\``,
    );
  }

  async function readMetadata(
    id: string,
  ): Promise<EntryMetadata | { invalid: string } | undefined> {
    let text: string;
    try {
      text = await readFile(metadataPath(id), 'utf8');
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return undefined;
      return { invalid: describeError(error) };
    }
    try {
      return parseEntryMetadata(JSON.parse(text), id);
    } catch (error) {
      return { invalid: `not valid JSON (${describeError(error)})` };
    }
  }

  function toEntry(
    id: string,
    rootfs: Stats | undefined,
    metadata: EntryMetadata | undefined,
  ): StoreEntry {
    const status =
      rootfs === undefined ? 'missing-rootfs' : metadata === undefined ? 'missing-metadata' : 'ok';
    return {
      id,
      path: entryPath(id),
      status,
      ...(metadata === undefined ? {} : { metadata, sizeBytes: metadata.sizeBytes }),
      createdAt: metadata?.createdAt ?? rootfs?.mtime.toISOString() ?? new Date(0).toISOString(),
    };
  }

  async function getEntry(id: string): Promise<StoreEntry> {
    assertEntryId(id);
    const rootfs = await lstatRootfs(id);
    const metadata = await readMetadata(id);
    const valid = metadata === undefined || 'invalid' in metadata ? undefined : metadata;
    if (rootfs === undefined && valid === undefined) throw notFound(id);
    return toEntry(id, rootfs, valid);
  }

  // Unlinks `<id>.json` only when it is truly an orphan: no pull is committing it and no
  // removal is under way. The order of checks matters: a pull renames its metadata into
  // place while its `.tmp-<id>.<pid>` still exists, and a removal renames the rootfs to
  // `.trash-<id>.<pid>` before it unlinks the metadata; so checking temporaries first and
  // the rootfs second leaves no window in which a live entry looks orphaned.
  async function removeOrphanMetadata(id: string): Promise<boolean> {
    const names = await readdir(dir);
    if (names.some((name) => parseTemporaryName(name)?.id === id)) return false;
    if ((await lstat(entryPath(id)).catch(() => undefined)) !== undefined) return false;
    try {
      await unlink(metadataPath(id));
      return true;
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return false;
      throw error;
    }
  }

  async function remove(id: string): Promise<void> {
    assertEntryId(id);
    const rootfs = await lstatRootfs(id);
    if (rootfs === undefined) {
      if (await removeOrphanMetadata(id)) return;
      throw notFound(id);
    }
    const trashPath = join(dir, trashName(id, process.pid));
    try {
      // The atomic step: whoever renames the rootfs away owns the removal; from here on
      // exec, inspect and other removals see "not found".
      await rename(entryPath(id), trashPath);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') throw notFound(id);
      throw new PolytheneError(
        'POLYTHENE_STORE_UNAVAILABLE',
        `cannot remove entry ${id} from store ${dir}: ${describeError(error)}`,
        {
          cause: error,
        },
      );
    }
    // Metadata goes before the tree (which may take long) so the entry vanishes from list
    // at once; the trash directory keeps orphan checks from racing with us meanwhile.
    await unlink(metadataPath(id)).catch((error: unknown) => {
      if (errorCode(error) !== 'ENOENT') throw error;
    });
    const trashStats = await lstat(trashPath);
    // Swapped for a symlink between our lstat and rename: drop the link, never its target.
    if (trashStats.isDirectory()) await removeTree(trashPath);
    else await unlink(trashPath);
  }

  async function clearStaleTemporaries(): Promise<number> {
    let removed = 0;
    for (const name of await readdir(dir)) {
      const temporary = parseTemporaryName(name);
      if (temporary === undefined || isProcessAlive(temporary.pid)) continue;
      const path = join(dir, name);
      try {
        const stats = await lstat(path);
        if (stats.isDirectory()) await removeTree(path);
        else await unlink(path);
        removed += 1;
      } catch {
        // Best effort: gone already (a concurrent prune) or not ours to delete.
      }
    }
    return removed;
  }

  async function list(): Promise<StoreEntry[]> {
    const found = new Map<string, { hasRootfs: boolean; hasMetadata: boolean }>();
    for (const dirent of await readdir(dir, { withFileTypes: true })) {
      const parsed = parseEntryName(dirent.name);
      if (parsed === undefined) continue;
      const seen = found.get(parsed.id) ?? { hasRootfs: false, hasMetadata: false };
      if (parsed.isMetadata && dirent.isFile()) seen.hasMetadata = true;
      if (!parsed.isMetadata && dirent.isDirectory()) seen.hasRootfs = true;
      found.set(parsed.id, seen);
    }
    const entries: StoreEntry[] = [];
    for (const [id, seen] of found) {
      if (!seen.hasRootfs && !seen.hasMetadata) continue;
      // Entries come and go while we look (pulls, removals): re-read each one and skip
      // those that vanished instead of failing the whole listing.
      const rootfs = seen.hasRootfs ? await lstat(entryPath(id)).catch(() => undefined) : undefined;
      const metadata = seen.hasMetadata ? await readMetadata(id) : undefined;
      const valid = metadata === undefined || 'invalid' in metadata ? undefined : metadata;
      const hasRootfs = rootfs?.isDirectory() === true;
      if (!hasRootfs && valid === undefined) {
        // A damaged metadata file with no rootfs is still an orphan worth showing.
        if (metadata === undefined) continue;
      }
      entries.push(toEntry(id, hasRootfs ? rootfs : undefined, valid));
    }
    return entries.sort(
      (a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id),
    );
  }

  async function prune(options: PruneOptions = {}): Promise<PruneReport> {
    const nowMs = (options.now ?? new Date()).getTime();
    const report: PruneReport = { removedIds: [], removedTemporaries: 0, removedOrphanMetadata: 0 };
    report.removedTemporaries = await clearStaleTemporaries();
    for (const entry of await list()) {
      if (entry.status === 'missing-rootfs') {
        if (await removeOrphanMetadata(entry.id)) report.removedOrphanMetadata += 1;
        continue;
      }
      if (
        options.olderThanMs === undefined ||
        nowMs - Date.parse(entry.createdAt) <= options.olderThanMs
      )
        continue;
      try {
        await remove(entry.id);
        report.removedIds.push(entry.id);
      } catch (error) {
        // Removed by someone else meanwhile: not ours to report, not an error.
        if (!hasErrorCode(error, 'POLYTHENE_ROOTFS_NOT_FOUND')) throw error;
      }
    }
    return report;
  }

  return {
    dir,
    createEntry: () => createPendingEntry(dir),
    async rootfsPath(id: string): Promise<string> {
      assertEntryId(id);
      if ((await lstatRootfs(id)) === undefined) throw notFound(id);
      return entryPath(id);
    },
    async inspect(id: string): Promise<EntryMetadata> {
      assertEntryId(id);
      if ((await lstatRootfs(id)) === undefined) throw notFound(id);
      const metadata = await readMetadata(id);
      if (metadata !== undefined && !('invalid' in metadata)) return metadata;
      const reason =
        metadata === undefined
          ? 'has no metadata file'
          : `has unusable metadata (${metadata.invalid})`;
      throw new PolytheneError(
        'POLYTHENE_INVALID_ID',
        `store entry ${id} ${reason} at ${metadataPath(id)}; it still runs with an empty image config, or remove it with \`polythene rm ${id}\``,
      );
    },
    getEntry,
    list,
    remove,
    prune,
    clearStaleTemporaries,
  };
}
