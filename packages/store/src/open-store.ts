import {
  accessSync,
  constants,
  existsSync,
  promises as fs,
  lstatSync,
  readdirSync,
  readFileSync,
  type Stats,
  statSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { hasErrorCode, isPolytheneError, PolytheneError } from '@polythene/errors';
import { isProcessAlive } from '@polythene/host';
import { assertStoreOwned } from './assert-store-owned.ts';
import { copyTree } from './copy-tree.ts';
import { diffLayers, type TreeDiff } from './diff-layers.ts';
import { assertEntryId, isEntryId, newEntryId } from './entry-id.ts';
import {
  type EntryLayout,
  type EntryMetadata,
  type EntryMetadataInput,
  parseEntryMetadata,
} from './entry-metadata.ts';
import { clearStaleMarks, findRunningUsers, type InUseMark, markInUse } from './in-use-marks.ts';
import { materializeLayers } from './materialize-layers.ts';
import { measureTree } from './measure-tree.ts';
import { type CreateEntryOptions, createPendingEntry, type PendingEntry } from './pending-entry.ts';
import { removeTree } from './remove-tree.ts';
import {
  createScratchDir,
  createUpperRoot,
  disposerFor,
  SCRATCH_LOWERS_FILE,
  type ScratchCopy,
  type ScratchLayer,
} from './scratch-layer.ts';
import {
  baseMarkerName,
  manifestName,
  metadataName,
  parseEntryName,
  parseTemporaryName,
  pendingMetadataName,
  pendingName,
  trashName,
  workName,
} from './store-names.ts';
import { describeError, errorCode } from './system-error.ts';
import { diffTreeAgainstManifest, readManifest } from './tree-manifest.ts';

/** One entry as `list` reports it, damaged ones included. */
export interface StoreEntry {
  /** The entry id. */
  id: string;
  /** Host path of the rootfs, `<store>/<id>` (it does not exist when `status` is `missing-rootfs`). */
  path: string;
  /**
   * `ok`: rootfs and valid metadata. `hand-made`: a directory named by the name rule (not a
   * UUID) without metadata, put there by hand; it runs, and `prune` leaves it alone.
   * `missing-metadata`: a UUID rootfs whose metadata file is absent or unreadable; it still runs. `missing-rootfs`:
   * metadata left behind without its rootfs (e.g. after `rm -rf <store>/<id>`); `prune`
   * removes it. `missing-lower`: an overlay clone one of whose lower entries is gone; it
   * cannot run, and `prune` removes it.
   */
  status: 'ok' | 'hand-made' | 'missing-metadata' | 'missing-rootfs' | 'missing-lower';
  /** How the entry is stored (`directory` when the metadata is missing). */
  layout: EntryLayout;
  /** For an `overlay` entry: its lower entries, top-most first. */
  lowerIds?: string[];
  /** The metadata, when readable and valid. */
  metadata?: EntryMetadata;
  /** ISO 8601 creation time: the metadata's, else the rootfs directory's mtime. */
  createdAt: string;
  /**
   * Apparent rootfs size in bytes, when the metadata records it. From `list`, an overlay
   * clone's is its own upper layer's, measured at the listing (not its base's).
   */
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
  /** Entries due for removal but kept because commands run in them, with those pids. */
  skippedInUse: { id: string; pids: number[] }[];
}

/** Options for {@link Store.cloneEntry}. */
export interface CloneEntryOptions {
  /**
   * `overlay`: a cheap clone (constant time whatever the size): an empty overlayfs upper
   * layer over the source; running it needs a backend that can mount overlayfs. `copy`: a
   * full independent `directory` copy (a GNU tar pipe; an overlay source is
   * materialised), usable by every backend.
   */
  method: 'overlay' | 'copy';
}

/** How to mount or use an entry's rootfs; see {@link Store.entryLayers}. */
export type EntryLayers =
  | {
      /** A plain tree. */
      layout: 'directory';
      /** The rootfs, `<store>/<id>`. */
      rootfs: string;
    }
  | {
      /** An overlayfs stack: `lowerdir=lowerDirs.join(':'),upperdir=upperDir,workdir=workDir`. */
      layout: 'overlay';
      /** The entry's own upper layer, `<store>/<id>`. */
      upperDir: string;
      /** Its work directory, `<store>/.work-<id>`. */
      workDir: string;
      /** The lower entries' directories, top-most first. */
      lowerDirs: string[];
    };

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

/** A store directory holding root filesystems `<dir>/<id>` and their metadata `<dir>/<id>.json`. */
export interface Store {
  /** Absolute path of the store directory. */
  readonly dir: string;
  /** Starts a new entry in a temporary directory; see {@link PendingEntry}. */
  createEntry(options?: CreateEntryOptions): Promise<PendingEntry>;
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
   * Removes entry `id` (rootfs, metadata, manifest and overlay work dir, or orphan metadata
   * alone). Of concurrent removals of one id exactly one succeeds; the others get
   * `POLYTHENE_ROOTFS_NOT_FOUND`. A base of other entries, or of a live scratch layer, is
   * refused with `POLYTHENE_ENTRY_IN_USE` naming them; so is an entry commands run in (see
   * {@link Store.markInUse}), naming their pids.
   */
  remove(id: string): Promise<void>;
  /**
   * Marks entry `id` as in use by this process (a running command) until `release`, so that
   * `remove` and `prune` leave it alone. Best effort: `isMarked` is false on a store that
   * cannot take the mark (read-only). Does not check that the entry exists.
   */
  markInUse(id: string): InUseMark;
  /** Pids of the processes running commands in entry `id` now (stale marks ignored). */
  runningUsers(id: string): number[];
  /**
   * Removes stale temporaries, orphan metadata, manifests and work dirs, overlay clones whose
   * lower is gone, and entries older than `olderThanMs`, clones before the entries they are
   * layered on; a base whose dependents remain is kept.
   */
  prune(options?: PruneOptions): Promise<PruneReport>;
  /**
   * Clones entry `id` into a new committed entry (origin `{ kind: 'clone', parentId: id }`,
   * the parent's image and config); see {@link CloneEntryOptions}. The source is never
   * modified, but an overlay clone makes it a *base*: it must not be written to while the
   * clone exists, and `remove` refuses it. Throws like `rootfsPath`, and
   * `POLYTHENE_ROOTFS_NOT_FOUND` when a lower of the source is missing.
   */
  cloneEntry(id: string, options: CloneEntryOptions): Promise<EntryMetadata>;
  /**
   * Ids of the committed entries layered on `id` (whose `lowerIds` include it), oldest first.
   * One stat for an entry no overlay clone was ever made of (its `.base-<id>` marker is
   * missing); otherwise every entry's metadata is read.
   */
  dependentsOf(id: string): Promise<string[]>;
  /**
   * What changed in entry `id` since it was pulled or cloned. A `directory` entry is walked
   * and compared with its manifest by a quick check (type, mode, owner, group, size, mtime,
   * link target: a rewrite keeping size and mtime is not seen); an `overlay` entry is diffed
   * from its upper layer alone ({@link diffLayers}). Throws `POLYTHENE_INVALID_ID` for a
   * `directory` entry without a manifest (made before manifests existed, or by hand).
   */
  diffEntry(id: string): Promise<TreeDiff>;
  /**
   * The directories that make up entry `id`'s rootfs. Throws like `rootfsPath`, and
   * `POLYTHENE_ROOTFS_NOT_FOUND` when a lower of an overlay entry is missing.
   */
  entryLayers(id: string): Promise<EntryLayers>;
  /**
   * {@link entryLayers} together with the entry's metadata, from one read of it (undefined
   * when the entry has no metadata file or an unusable one): what running a command needs.
   */
  entryLayersAndMetadata(
    id: string,
  ): Promise<{ layers: EntryLayers; metadata: EntryMetadata | undefined }>;
  /** A throwaway overlay upper layer over entry `id`; see {@link ScratchLayer}. */
  createScratchLayer(id: string): Promise<ScratchLayer>;
  /** A throwaway full copy of entry `id` (materialised for an overlay entry); see {@link ScratchCopy}. */
  createScratchCopy(id: string): Promise<ScratchCopy>;
  /**
   * Removes temporaries left by processes that no longer exist; never a live pull's or
   * removal's. Best effort: a leftover that cannot be deleted is skipped. Returns how many went.
   */
  clearStaleTemporaries(): Promise<number>;
}

const HINT = 'pass --store DIR or set POLYTHENE_STORE to a writable directory';

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

function createStore(dir: string): Store {
  const entryPath = (id: string): string => join(dir, id);
  const metadataPath = (id: string): string => join(dir, metadataName(id));
  const manifestPath = (id: string): string => join(dir, manifestName(id));
  const workPath = (id: string): string => join(dir, workName(id));
  const baseMarkerPath = (id: string): string => join(dir, baseMarkerName(id));

  function notFound(id: string): PolytheneError {
    return new PolytheneError(
      'POLYTHENE_ROOTFS_NOT_FOUND',
      `No such UUID rootfs: ${id} (store ${dir}): run \`polythene list\` to see entries, or \`polythene pull IMAGE\` to make one`,
    );
  }

  function lowerMissing(id: string, lowerId: string): PolytheneError {
    return new PolytheneError(
      'POLYTHENE_ROOTFS_NOT_FOUND',
      `store entry ${id} is an overlay clone of ${lowerId}, which is missing from store ${dir} (deleted by hand?): it cannot be used; remove it with \`polythene rm ${id}\``,
    );
  }

  // lstat of the rootfs, refusing anything but a real directory; undefined when absent.
  async function lstatRootfs(id: string): Promise<Stats | undefined> {
    const path = entryPath(id);
    // Synchronous on purpose, like the metadata read below: these few small reads are on the
    // path of every exec, and the thread pool's round trips cost more than the reads.
    let stats: Stats | undefined;
    try {
      stats = lstatSync(path);
    } catch (error) {
      if (errorCode(error) !== 'ENOENT')
        throw new PolytheneError(
          'POLYTHENE_STORE_UNAVAILABLE',
          `cannot read store entry ${path}: ${describeError(error)}; ${HINT}`,
          { cause: error },
        );
    }
    if (stats === undefined || stats.isDirectory()) return stats;
    const what = stats.isSymbolicLink() ? 'a symbolic link' : 'not a directory';
    throw new PolytheneError(
      'POLYTHENE_INVALID_ID',
      `store entry ${path} is ${what}; polythene only uses real directories it created: delete it with \`rm ${path}\``,
    );
  }

  async function hasRootfs(id: string): Promise<boolean> {
    return (await fs.lstat(entryPath(id)).catch(() => undefined))?.isDirectory() === true;
  }

  async function readMetadataFile(
    path: string,
    id: string,
  ): Promise<EntryMetadata | { invalid: string } | undefined> {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
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

  function readMetadata(id: string): Promise<EntryMetadata | { invalid: string } | undefined> {
    return readMetadataFile(metadataPath(id), id);
  }

  async function readValidMetadata(id: string): Promise<EntryMetadata | undefined> {
    const metadata = await readMetadata(id);
    return metadata === undefined || 'invalid' in metadata ? undefined : metadata;
  }

  function toEntry(
    id: string,
    rootfs: Stats | undefined,
    metadata: EntryMetadata | undefined,
    isLowerMissing = false,
  ): StoreEntry {
    const status =
      rootfs === undefined
        ? 'missing-rootfs'
        : metadata === undefined
          ? isEntryId(id)
            ? 'missing-metadata'
            : 'hand-made'
          : isLowerMissing
            ? 'missing-lower'
            : 'ok';
    return {
      id,
      path: entryPath(id),
      status,
      layout: metadata?.layout ?? 'directory',
      ...(metadata?.lowerIds === undefined ? {} : { lowerIds: metadata.lowerIds }),
      ...(metadata === undefined ? {} : { metadata, sizeBytes: metadata.sizeBytes }),
      createdAt: metadata?.createdAt ?? rootfs?.mtime.toISOString() ?? new Date(0).toISOString(),
    };
  }

  async function getEntry(id: string): Promise<StoreEntry> {
    assertEntryId(id);
    const rootfs = await lstatRootfs(id);
    const valid = await readValidMetadata(id);
    if (rootfs === undefined && valid === undefined) throw notFound(id);
    let isLowerMissing = false;
    for (const lowerId of valid?.lowerIds ?? []) {
      if (!(await hasRootfs(lowerId))) isLowerMissing = true;
    }
    return toEntry(id, rootfs, valid, isLowerMissing);
  }

  // Unlinks `<id>.json` (and a manifest or work dir left with it) only when it is truly an
  // orphan: no pull is committing it and no removal is under way. The order of checks
  // matters: a pull renames its metadata into place while its `.tmp-<id>.<pid>` still
  // exists, and a removal renames the rootfs to `.trash-<id>.<pid>` before it unlinks the
  // metadata; so checking temporaries first and the rootfs second leaves no window in which
  // a live entry looks orphaned.
  async function removeOrphanMetadata(id: string): Promise<boolean> {
    const names = await fs.readdir(dir);
    if (names.some((name) => parseTemporaryName(name)?.id === id)) return false;
    if ((await fs.lstat(entryPath(id)).catch(() => undefined)) !== undefined) return false;
    let removed = false;
    for (const path of [metadataPath(id), manifestPath(id), baseMarkerPath(id)]) {
      try {
        await fs.unlink(path);
        removed = true;
      } catch (error) {
        if (errorCode(error) !== 'ENOENT') throw error;
      }
    }
    if ((await fs.lstat(workPath(id)).catch(() => undefined))?.isDirectory()) {
      await removeTree(workPath(id));
      removed = true;
    }
    return removed;
  }

  // Who needs entry `id` as a lower layer: committed entries (whose own rootfs, or pending
  // rootfs, still exists), clones being committed, and live scratch layers.
  async function findUsers(id: string): Promise<{ entryIds: string[]; others: string[] }> {
    const names = readdirSync(dir);
    const nameSet = new Set(names);
    const pendingIds = new Set<string>();
    for (const name of names) {
      const temporary = parseTemporaryName(name);
      if (temporary?.kind === 'tmp' && !temporary.isMetadata) pendingIds.add(temporary.id);
    }
    const entryIds: string[] = [];
    const others: string[] = [];
    for (const name of names) {
      const parsed = parseEntryName(name);
      if (parsed?.part === 'metadata' && parsed.id !== id) {
        if (!nameSet.has(parsed.id) && !pendingIds.has(parsed.id)) continue;
        const metadata = await readMetadataFile(join(dir, name), parsed.id);
        if (metadata !== undefined && !('invalid' in metadata) && metadata.lowerIds?.includes(id))
          entryIds.push(parsed.id);
        continue;
      }
      const temporary = parseTemporaryName(name);
      if (temporary === undefined || !isProcessAlive(temporary.pid)) continue;
      if (temporary.kind === 'tmp' && name.endsWith('.json')) {
        const metadata = await readMetadataFile(join(dir, name), temporary.id);
        if (metadata !== undefined && !('invalid' in metadata) && metadata.lowerIds?.includes(id))
          others.push(`clone ${temporary.id} being created by process ${temporary.pid}`);
      } else if (temporary.kind === 'scratch' && !temporary.isMetadata) {
        const lowers = await fs
          .readFile(join(dir, name, SCRATCH_LOWERS_FILE), 'utf8')
          .catch(() => '');
        if (lowers.split('\n').includes(id))
          others.push(`a throwaway layer of process ${temporary.pid}`);
      }
    }
    return { entryIds: entryIds.sort(), others };
  }

  async function assertNotInUse(id: string): Promise<void> {
    const { entryIds, others } = await findUsers(id);
    if (entryIds.length === 0 && others.length === 0) return;
    const users = [...entryIds.map((user) => `entry ${user}`), ...others];
    const shown =
      users.slice(0, 5).join(', ') + (users.length > 5 ? ` and ${users.length - 5} more` : '');
    throw new PolytheneError(
      'POLYTHENE_ENTRY_IN_USE',
      `cannot remove entry ${id}: it is the base of ${shown}; remove ${entryIds.length > 0 ? 'those clones' : 'them'} first (\`polythene rm\`), or wait for the running commands to end`,
    );
  }

  function assertNotRunning(id: string): void {
    const pids = findRunningUsers(dir, id);
    if (pids.length === 0) return;
    throw new PolytheneError(
      'POLYTHENE_ENTRY_IN_USE',
      `cannot remove entry ${id}: commands are running in it (pid${pids.length > 1 ? 's' : ''} ${pids.join(', ')}); wait for them to end, or stop them and remove it with \`polythene rm --force\``,
    );
  }

  async function remove(id: string): Promise<void> {
    assertEntryId(id);
    const rootfs = await lstatRootfs(id);
    if (rootfs === undefined) {
      if (await removeOrphanMetadata(id)) return;
      throw notFound(id);
    }
    await assertNotInUse(id);
    assertNotRunning(id);
    const trashPath = join(dir, trashName(id, process.pid));
    try {
      // The atomic step: whoever renames the rootfs away owns the removal; from here on
      // exec, inspect and other removals see "not found".
      await fs.rename(entryPath(id), trashPath);
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
    // A clone records its intent (pending metadata or scratch file) before it checks that its
    // lowers exist; we check for users again after the rootfs is gone. So either the clone
    // sees the lower missing, or we see the clone and put the rootfs back.
    // The same for running commands: an exec marks the entry before it looks it up.
    try {
      await assertNotInUse(id);
      assertNotRunning(id);
    } catch (error) {
      await fs.rename(trashPath, entryPath(id));
      throw error;
    }
    // Metadata goes before the tree (which may take long) so the entry vanishes from list
    // at once; the trash directory keeps orphan checks from racing with us meanwhile.
    for (const path of [metadataPath(id), manifestPath(id), baseMarkerPath(id)]) {
      await fs.unlink(path).catch((error: unknown) => {
        if (errorCode(error) !== 'ENOENT') throw error;
      });
    }
    if ((await fs.lstat(workPath(id)).catch(() => undefined))?.isDirectory())
      await removeTree(workPath(id));
    const trashStats = await fs.lstat(trashPath);
    // Swapped for a symlink between our lstat and rename: drop the link, never its target.
    if (trashStats.isDirectory()) await removeTree(trashPath);
    else await fs.unlink(trashPath);
  }

  async function clearStaleTemporaries(): Promise<number> {
    let removed = 0;
    for (const name of await fs.readdir(dir)) {
      const temporary = parseTemporaryName(name);
      if (temporary === undefined || isProcessAlive(temporary.pid)) continue;
      const path = join(dir, name);
      try {
        const stats = await fs.lstat(path);
        if (stats.isDirectory()) await removeTree(path);
        else await fs.unlink(path);
        removed += 1;
      } catch {
        // Best effort: gone already (a concurrent prune) or not ours to delete.
      }
    }
    return removed;
  }

  async function list(): Promise<StoreEntry[]> {
    const found = new Map<string, { hasRootfs: boolean; hasMetadata: boolean }>();
    // Entries being committed (`.tmp-<id>.<pid>`) or removed (`.trash-<id>.<pid>`): their
    // metadata may be in place while their rootfs is not; they are not orphans to show.
    const inTransit = new Set<string>();
    for (const dirent of await fs.readdir(dir, { withFileTypes: true })) {
      const temporary = parseTemporaryName(dirent.name);
      if (temporary !== undefined && temporary.kind !== 'scratch') inTransit.add(temporary.id);
      const parsed = parseEntryName(dirent.name);
      if (parsed === undefined) continue;
      const seen = found.get(parsed.id) ?? { hasRootfs: false, hasMetadata: false };
      if (parsed.part === 'metadata' && dirent.isFile()) seen.hasMetadata = true;
      if (parsed.part === 'rootfs' && dirent.isDirectory()) seen.hasRootfs = true;
      found.set(parsed.id, seen);
    }
    let secondLook: { names: Set<string>; inTransit: Set<string> } | undefined;
    const isSettledOrphan = async (id: string): Promise<boolean> => {
      if (inTransit.has(id)) return false;
      if (secondLook === undefined) {
        const names = await fs.readdir(dir);
        const again = new Set<string>();
        for (const name of names) {
          const temporary = parseTemporaryName(name);
          if (temporary !== undefined && temporary.kind !== 'scratch') again.add(temporary.id);
        }
        secondLook = { names: new Set(names), inTransit: again };
      }
      return (
        !secondLook.inTransit.has(id) &&
        !secondLook.names.has(id) &&
        secondLook.names.has(metadataName(id))
      );
    };
    const entries: StoreEntry[] = [];
    for (const [id, seen] of found) {
      if (!seen.hasRootfs && !seen.hasMetadata) continue;
      // Entries come and go while we look (pulls, removals): re-read each one and skip
      // those that vanished instead of failing the whole listing.
      const rootfs =
        seen.hasRootfs || inTransit.has(id)
          ? await fs.lstat(entryPath(id)).catch(() => undefined)
          : undefined;
      const metadata = seen.hasMetadata ? await readMetadata(id) : undefined;
      const valid = metadata === undefined || 'invalid' in metadata ? undefined : metadata;
      const isRootfsDir = rootfs?.isDirectory() === true;
      if (!isRootfsDir) {
        if (metadata === undefined) continue;
        // Metadata without a rootfs: an orphan (shown, even damaged) only when a second look
        // agrees. A commit renames its metadata in before its rootfs, a removal its rootfs
        // out before its metadata, and a directory read racing a rename can miss both names.
        if (!(await isSettledOrphan(id))) continue;
      }
      const isLowerMissing = (valid?.lowerIds ?? []).some(
        (lowerId) => found.get(lowerId)?.hasRootfs !== true,
      );
      const entry = toEntry(id, isRootfsDir ? rootfs : undefined, valid, isLowerMissing);
      // An overlay clone's metadata records its merged view (its base's size); what the
      // clone itself holds on disk is its upper layer, measured now (it grows as commands write).
      if (entry.layout === 'overlay' && isRootfsDir) {
        const own = await measureTree(entryPath(id)).catch(() => undefined);
        if (own !== undefined) entry.sizeBytes = own.sizeBytes;
      }
      entries.push(entry);
    }
    return entries.sort(
      (a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id),
    );
  }

  // Manifests and work dirs whose entry has neither rootfs nor metadata.
  async function removeOrphanParts(): Promise<number> {
    const names = await fs.readdir(dir);
    const nameSet = new Set(names);
    let removed = 0;
    for (const name of names) {
      const parsed = parseEntryName(name);
      if (parsed === undefined || parsed.part === 'rootfs' || parsed.part === 'metadata') continue;
      if (nameSet.has(parsed.id) || nameSet.has(metadataName(parsed.id))) continue;
      if (await removeOrphanMetadata(parsed.id)) removed += 1;
    }
    return removed;
  }

  async function prune(options: PruneOptions = {}): Promise<PruneReport> {
    const nowMs = (options.now ?? new Date()).getTime();
    const report: PruneReport = {
      removedIds: [],
      removedTemporaries: 0,
      removedOrphanMetadata: 0,
      skippedInUse: [],
    };
    clearStaleMarks(dir);
    report.removedTemporaries = await clearStaleTemporaries();
    const candidates: string[] = [];
    for (const entry of await list()) {
      if (entry.status === 'missing-rootfs') {
        if (await removeOrphanMetadata(entry.id)) report.removedOrphanMetadata += 1;
        continue;
      }
      // Made by hand, not by polythene: only `rm NAME` deletes it.
      if (entry.status === 'hand-made') continue;
      const isOld =
        options.olderThanMs !== undefined &&
        nowMs - Date.parse(entry.createdAt) > options.olderThanMs;
      if (isOld || entry.status === 'missing-lower') candidates.push(entry.id);
    }
    report.removedOrphanMetadata += await removeOrphanParts();
    // Clones go before the entries they are layered on: retry the refused bases until a
    // round removes nothing more (a base whose dependents stay is kept).
    let remaining = candidates;
    while (remaining.length > 0) {
      const refused: string[] = [];
      for (const id of remaining) {
        try {
          await remove(id);
          report.removedIds.push(id);
        } catch (error) {
          if (hasErrorCode(error, 'POLYTHENE_ENTRY_IN_USE')) refused.push(id);
          // Removed by someone else meanwhile: not ours to report, not an error.
          else if (!hasErrorCode(error, 'POLYTHENE_ROOTFS_NOT_FOUND')) throw error;
        }
      }
      if (refused.length === remaining.length) break;
      remaining = refused;
    }
    for (const id of remaining) {
      const pids = findRunningUsers(dir, id);
      if (pids.length > 0) report.skippedInUse.push({ id, pids });
    }
    return report;
  }

  async function entryLayersAndMetadata(
    id: string,
  ): Promise<{ layers: EntryLayers; metadata: EntryMetadata | undefined }> {
    assertEntryId(id);
    if ((await lstatRootfs(id)) === undefined) throw notFound(id);
    const metadata = await readValidMetadata(id);
    if (metadata?.layout !== 'overlay') {
      return { layers: { layout: 'directory', rootfs: entryPath(id) }, metadata };
    }
    const lowerIds = metadata.lowerIds ?? [];
    for (const lowerId of lowerIds) {
      if (!(await hasRootfs(lowerId))) throw lowerMissing(id, lowerId);
    }
    const layers: EntryLayers = {
      layout: 'overlay',
      upperDir: entryPath(id),
      workDir: workPath(id),
      lowerDirs: lowerIds.map(entryPath),
    };
    return { layers, metadata };
  }

  async function entryLayers(id: string): Promise<EntryLayers> {
    return (await entryLayersAndMetadata(id)).layers;
  }

  // The layers as a stack, top first, and the entry ids they belong to.
  function stackOf(id: string, layers: EntryLayers, metadata: EntryMetadata | undefined) {
    return layers.layout === 'directory'
      ? { dirs: [layers.rootfs], ids: [id] }
      : { dirs: [layers.upperDir, ...layers.lowerDirs], ids: [id, ...(metadata?.lowerIds ?? [])] };
  }

  async function assertLowersExist(id: string, lowerIds: readonly string[]): Promise<void> {
    for (const lowerId of lowerIds) {
      if (!(await hasRootfs(lowerId)))
        throw lowerId === id ? notFound(id) : lowerMissing(id, lowerId);
    }
  }

  function cloneInput(parent: EntryMetadata | undefined, parentId: string): EntryMetadataInput {
    const input: EntryMetadataInput & Partial<EntryMetadata> = {
      ...(parent ?? { image: '', config: { env: [] } }),
      origin: { kind: 'clone', parentId },
    };
    for (const key of [
      'schemaVersion',
      'id',
      'createdAt',
      'sizeBytes',
      'fileCount',
      'layout',
      'lowerIds',
    ] as const)
      delete input[key];
    return input;
  }

  async function cloneByOverlay(
    parentId: string,
    parent: EntryMetadata | undefined,
    stack: { dirs: string[]; ids: string[] },
  ): Promise<EntryMetadata> {
    const id = newEntryId();
    const upper = join(dir, pendingName(id, process.pid));
    const pendingMetadata = join(dir, pendingMetadataName(id, process.pid));
    const metadata: EntryMetadata = {
      schemaVersion: 1,
      id,
      createdAt: new Date().toISOString(),
      ...cloneInput(parent, parentId),
      // The merged view is the parent's: its size, not the (empty) upper layer's.
      sizeBytes: parent?.sizeBytes ?? 0,
      fileCount: parent?.fileCount ?? 0,
      layout: 'overlay',
      lowerIds: stack.ids,
    };
    try {
      // Work dir first: a crash leaves it without metadata, an orphan prune removes.
      await fs.mkdir(workPath(id), { mode: 0o700 });
      await createUpperRoot(upper, stack.dirs[0] as string);
      // Markers before metadata: no committed clone ever lacks its lowers' markers.
      await markAsBases(stack.ids);
      // The pending metadata is our intent: a removal of a lower that starts now sees it.
      await fs.writeFile(pendingMetadata, `${JSON.stringify(metadata, null, 2)}\n`, {
        mode: 0o644,
        flag: 'wx',
      });
      await assertLowersExist(parentId, stack.ids);
      await fs.rename(pendingMetadata, metadataPath(id));
      try {
        await fs.rename(upper, entryPath(id));
      } catch (error) {
        await fs.unlink(metadataPath(id)).catch(() => undefined);
        throw error;
      }
      return metadata;
    } catch (error) {
      await fs.unlink(pendingMetadata).catch(() => undefined);
      await removeTree(upper).catch(() => undefined);
      await removeTree(workPath(id)).catch(() => undefined);
      if (errorCode(error) === undefined || isPolytheneError(error)) throw error;
      throw new PolytheneError(
        'POLYTHENE_STORE_UNAVAILABLE',
        `cannot clone entry ${parentId} in store ${dir}: ${describeError(error)}; check that the store is writable`,
        { cause: error },
      );
    }
  }

  async function cloneEntry(id: string, options: CloneEntryOptions): Promise<EntryMetadata> {
    if (options?.method !== 'overlay' && options?.method !== 'copy') {
      throw new PolytheneError(
        'POLYTHENE_USAGE',
        `cannot clone entry ${id}: method must be 'overlay' or 'copy' (got ${JSON.stringify(options?.method)})`,
      );
    }
    const layers = await entryLayers(id);
    const parent = await readValidMetadata(id);
    const stack = stackOf(id, layers, parent);
    if (options.method === 'overlay') return cloneByOverlay(id, parent, stack);
    await using pending = await createPendingEntry(dir);
    if (layers.layout === 'directory') await copyTree(layers.rootfs, pending.path);
    else await materializeLayers(stack.dirs, pending.path);
    // Awaited here: `await using` disposes (discards) as soon as the function returns.
    return await pending.commit(cloneInput(parent, id));
  }

  async function diffEntry(id: string): Promise<TreeDiff> {
    const layers = await entryLayers(id);
    if (layers.layout === 'overlay') return diffLayers(layers.upperDir, layers.lowerDirs);
    let manifest: Map<string, string>;
    try {
      manifest = await readManifest(manifestPath(id));
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
      throw new PolytheneError(
        'POLYTHENE_INVALID_ID',
        `store entry ${id} has no manifest to diff against (made before manifests were recorded, or by hand): clone it with \`polythene clone ${id}\` and work in the clone, whose diff starts from the clone`,
      );
    }
    return diffTreeAgainstManifest(layers.rootfs, manifest);
  }

  // Every exec asks this. Overlay clones mark their lowers before they exist, so an entry
  // without a marker has no clone: one stat instead of reading every entry's metadata.
  async function dependentsOf(id: string): Promise<string[]> {
    assertEntryId(id);
    if (!existsSync(baseMarkerPath(id))) return [];
    return (await findUsers(id)).entryIds;
  }

  async function markAsBases(ids: readonly string[]): Promise<void> {
    for (const lowerId of ids) {
      // Append mode: creates the marker, never truncates or replaces one.
      await fs.writeFile(baseMarkerPath(lowerId), '', { flag: 'a', mode: 0o644 });
    }
  }

  async function createScratchLayer(id: string): Promise<ScratchLayer> {
    const layers = await entryLayers(id);
    const stack = stackOf(id, layers, await readValidMetadata(id));
    const scratch = await createScratchDir(dir, stack.ids);
    const dispose = disposerFor(scratch);
    try {
      const upperDir = join(scratch, 'upper');
      const workDir = join(scratch, 'work');
      await createUpperRoot(upperDir, stack.dirs[0] as string);
      await fs.mkdir(workDir, { mode: 0o700 });
      // Recorded intent first, check second: see `remove`.
      await assertLowersExist(id, stack.ids);
      return {
        upperDir,
        workDir,
        lowerDirs: stack.dirs,
        dispose,
        [Symbol.asyncDispose]: dispose,
      };
    } catch (error) {
      await dispose();
      throw error;
    }
  }

  async function createScratchCopy(id: string): Promise<ScratchCopy> {
    const layers = await entryLayers(id);
    const stack = stackOf(id, layers, await readValidMetadata(id));
    const scratch = await createScratchDir(dir, []);
    const dispose = disposerFor(scratch);
    try {
      const rootfs = join(scratch, 'rootfs');
      await fs.mkdir(rootfs, { mode: 0o700 });
      if (layers.layout === 'directory') await copyTree(layers.rootfs, rootfs);
      else await materializeLayers(stack.dirs, rootfs);
      return { rootfs, dispose, [Symbol.asyncDispose]: dispose };
    } catch (error) {
      await dispose();
      throw error;
    }
  }

  return {
    dir,
    createEntry: (options?: CreateEntryOptions) => createPendingEntry(dir, options),
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
    markInUse: (id) => markInUse(dir, id),
    runningUsers: (id) => findRunningUsers(dir, id),
    prune,
    clearStaleTemporaries,
    cloneEntry,
    dependentsOf,
    diffEntry,
    entryLayers,
    entryLayersAndMetadata,
    createScratchLayer,
    createScratchCopy,
  };
}
