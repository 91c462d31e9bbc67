import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { PolytheneError } from '@polythene/errors';
import { assertEntryId, formatUntrusted, newEntryId } from './entry-id.ts';
import type { EntryMetadata, EntryMetadataInput } from './entry-metadata.ts';
import { createTreeMeter } from './measure-tree.ts';
import { removeTree } from './remove-tree.ts';
import { scanTree } from './scan-tree.ts';
import {
  manifestName,
  metadataName,
  pendingManifestName,
  pendingMetadataName,
  pendingName,
} from './store-names.ts';
import { describeError, errorCode } from './system-error.ts';
import { createManifestBuilder, writeManifest } from './tree-manifest.ts';

/**
 * A store entry being filled. Write the root filesystem into `path`, then `commit` to make
 * it appear as `<store>/<id>` with its metadata, or `discard` to drop it. Disposing
 * (`await using`) discards unless committed.
 */
export interface PendingEntry extends AsyncDisposable {
  /** The id the entry will have once committed. */
  readonly id: string;
  /** The temporary rootfs directory to fill (`<store>/.tmp-<id>.<pid>`, exists, mode 0755). */
  readonly path: string;
  /**
   * Walks the tree once (without following symlinks) to measure it and record its manifest
   * (every path's type, mode, owner, size, mtime and link target: the baseline of `diff`),
   * writes the metadata (layout `directory`), and renames all into place: manifest, then
   * metadata, then the rootfs, so a listed rootfs always has both. Returns the metadata.
   */
  commit(metadata: EntryMetadataInput): Promise<EntryMetadata>;
  /** Deletes the temporary tree; safe to call more than once, and a no-op after commit. */
  discard(): Promise<void>;
}

/** Options for {@link createPendingEntry} (`store.createEntry`). */
export interface CreateEntryOptions {
  /**
   * The id to commit under instead of a new one (loading a saved entry keeps its id). The
   * caller makes sure no entry has it: commit does not check.
   */
  id?: string;
  /** The creation time to record (ISO 8601) instead of the commit time. */
  createdAt?: string;
}

/** Creates `<storeDir>/.tmp-<id>.<pid>` and returns the pending entry around it. */
export async function createPendingEntry(
  storeDir: string,
  options: CreateEntryOptions = {},
): Promise<PendingEntry> {
  const id = options.id === undefined ? newEntryId() : assertEntryId(options.id);
  const path = join(storeDir, pendingName(id, process.pid));
  const pendingMetadataPath = join(storeDir, pendingMetadataName(id, process.pid));
  const pendingManifestPath = join(storeDir, pendingManifestName(id, process.pid));
  const finalManifestPath = join(storeDir, manifestName(id));
  try {
    await fs.mkdir(path, { mode: 0o755 });
    // mkdir's mode is filtered by the umask; the rootfs root must be traversable by the
    // sandboxed user whatever the caller's umask.
    await fs.chmod(path, 0o755);
  } catch (error) {
    throw new PolytheneError(
      'POLYTHENE_STORE_UNAVAILABLE',
      `cannot create an entry in store ${storeDir}: ${describeError(error)}; pass --store DIR or set POLYTHENE_STORE to a writable directory`,
      { cause: error },
    );
  }

  let state: 'open' | 'committing' | 'committed' | 'discarded' = 'open';

  let committing: Promise<unknown> | undefined;

  async function discard(): Promise<void> {
    // `await using` with `return entry.commit(…)` disposes while the commit runs: let it end.
    if (state === 'committing') await committing?.catch(() => undefined);
    if (state === 'committed' || state === 'discarded') return;
    state = 'discarded';
    await fs.unlink(pendingMetadataPath).catch(() => undefined);
    await fs.unlink(pendingManifestPath).catch(() => undefined);
    await removeTree(path);
  }

  function commit(input: EntryMetadataInput): Promise<EntryMetadata> {
    const result = commitOnce(input);
    if (state === 'committing') committing = result;
    return result;
  }

  async function commitOnce(input: EntryMetadataInput): Promise<EntryMetadata> {
    if (state !== 'open') {
      throw new PolytheneError(
        'POLYTHENE_USAGE',
        `pending entry ${id} is already ${state}: create a new entry with store.createEntry()`,
      );
    }
    if (typeof input?.image !== 'string' || !Array.isArray(input.config?.env)) {
      throw new PolytheneError(
        'POLYTHENE_USAGE',
        `cannot commit entry ${id}: metadata needs an image string and config.env (got ${formatUntrusted(JSON.stringify(input) ?? '')})`,
      );
    }
    state = 'committing';
    try {
      // One walk gives both the measurement and the manifest.
      const meter = createTreeMeter();
      const manifest = createManifestBuilder();
      await scanTree(path, (scanned) => {
        if (scanned.relativePath !== '') meter.add(scanned.stats);
        manifest.add(scanned);
      });
      const { sizeBytes, fileCount } = meter.total;
      const createdAt = options.createdAt ?? new Date().toISOString();
      const fixed = { schemaVersion: 1 as const, id, createdAt };
      // The store's own fields come first in the file and cannot be overridden by the input.
      const metadata: EntryMetadata = Object.assign({ ...fixed }, input, fixed, {
        sizeBytes,
        fileCount,
        layout: 'directory' as const,
      });
      delete metadata.lowerIds;
      await writeManifest(pendingManifestPath, await manifest.finish());
      await fs.rename(pendingManifestPath, finalManifestPath);
      await fs.writeFile(pendingMetadataPath, `${JSON.stringify(metadata, null, 2)}\n`, {
        mode: 0o644,
        flag: 'wx',
      });
      const metadataPath = join(storeDir, metadataName(id));
      await fs.rename(pendingMetadataPath, metadataPath);
      try {
        await fs.rename(path, join(storeDir, id));
      } catch (error) {
        await fs.unlink(metadataPath).catch(() => undefined);
        throw error;
      }
      state = 'committed';
      return metadata;
    } catch (error) {
      await fs.unlink(pendingMetadataPath).catch(() => undefined);
      await fs.unlink(pendingManifestPath).catch(() => undefined);
      // The rootfs is not in place, so a manifest already renamed is an orphan.
      await fs.unlink(finalManifestPath).catch(() => undefined);
      state = 'open';
      if (errorCode(error) === undefined) throw error;
      throw new PolytheneError(
        'POLYTHENE_STORE_UNAVAILABLE',
        `cannot commit entry ${id} in store ${storeDir}: ${describeError(error)}; check that the store is writable and not full`,
        { cause: error },
      );
    }
  }

  return {
    id,
    path,
    commit,
    discard,
    async [Symbol.asyncDispose](): Promise<void> {
      await discard();
    },
  };
}
