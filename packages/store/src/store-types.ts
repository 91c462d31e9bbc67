import { diffLayers, type TreeDiff } from './diff-layers.ts';
import type { EntryLayout, EntryMetadata } from './entry-metadata.ts';
import type { InUseMark } from './in-use-marks.ts';
import type { CreateEntryOptions, PendingEntry } from './pending-entry.ts';
import type { ScratchCopy, ScratchLayer } from './scratch-layer.ts';

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
  /**
   * Entries due for removal but kept because they are the base of something that stays: the
   * overlay clones layered on them (`dependentIds`: a clone in use, or one not due itself),
   * or a clone being made or a throwaway layer (then `dependentIds` may be empty).
   */
  keptBases: { id: string; dependentIds: string[] }[];
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

/** An entry's layers as a stack, top first, and the entry ids they belong to. */
export interface LayerStack {
  /** The layers' host directories, top first. */
  dirs: string[];
  /** The entry id of each layer. */
  ids: string[];
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
