import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { isPolytheneError, PolytheneError } from '@polythene/errors';
import { copyTree } from './copy-tree.ts';
import { newEntryId } from './entry-id.ts';
import type { EntryMetadata, EntryMetadataInput } from './entry-metadata.ts';
import { materializeLayers } from './materialize-layers.ts';
import { createPendingEntry } from './pending-entry.ts';
import { removeTree } from './remove-tree.ts';
import { createUpperRoot } from './scratch-layer.ts';
import type { EntryReader } from './store-entries.ts';
import type { StoreLayout } from './store-layout.ts';
import { pendingMetadataName, pendingName } from './store-names.ts';
import type { CloneEntryOptions } from './store-types.ts';
import type { StoreUsers } from './store-users.ts';
import { describeError, errorCode } from './system-error.ts';

/** See `Store.cloneEntry`: an overlay clone or a full copy of an entry. */
export function createEntryCloner(
  layout: StoreLayout,
  reader: EntryReader,
  users: StoreUsers,
): (id: string, options: CloneEntryOptions) => Promise<EntryMetadata> {
  const { dir, entryPath, metadataPath, workPath } = layout;
  const { entryLayers, readValidMetadata, stackOf, assertLowersExist } = reader;
  const { markAsBases } = users;

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

  return cloneEntry;
}
