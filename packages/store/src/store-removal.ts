import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { hasErrorCode, PolytheneError } from '@polythene/errors';
import { isProcessAlive } from '@polythene/host';
import { assertEntryId } from './entry-id.ts';
import { clearStaleMarks, findRunningUsers } from './in-use-marks.ts';
import { removeTree } from './remove-tree.ts';
import type { EntryReader } from './store-entries.ts';
import type { StoreLayout } from './store-layout.ts';
import { metadataName, parseEntryName, parseTemporaryName, trashName } from './store-names.ts';
import type { PruneOptions, PruneReport, StoreEntry } from './store-types.ts';
import type { StoreUsers } from './store-users.ts';
import { describeError, errorCode } from './system-error.ts';

/** Removing entries and pruning a store. */
export interface StoreRemoval {
  /** See `Store.remove`. */
  remove(id: string): Promise<void>;
  /** See `Store.prune`. */
  prune(options?: PruneOptions): Promise<PruneReport>;
  /** See `Store.clearStaleTemporaries`. */
  clearStaleTemporaries(): Promise<number>;
}

/** The {@link StoreRemoval} of a store; `list` is the store's listing, which prune walks. */
export function createStoreRemoval(
  layout: StoreLayout,
  reader: EntryReader,
  users: StoreUsers,
  list: () => Promise<StoreEntry[]>,
): StoreRemoval {
  const { dir, entryPath, metadataPath, manifestPath, workPath, baseMarkerPath, notFound } = layout;
  const { lstatRootfs } = reader;
  const { assertNotInUse, assertNotRunning, findUsers } = users;

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
      keptBases: [],
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
    // Each kept entry is reported once: for the commands running in it, else as a base.
    for (const id of remaining) {
      const pids = findRunningUsers(dir, id);
      if (pids.length > 0) {
        report.skippedInUse.push({ id, pids });
        continue;
      }
      const { entryIds } = await findUsers(id).catch(() => ({ entryIds: [] as string[] }));
      report.keptBases.push({ id, dependentIds: entryIds });
    }
    return report;
  }

  return { remove, prune, clearStaleTemporaries };
}
