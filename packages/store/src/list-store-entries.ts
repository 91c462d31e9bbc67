import { promises as fs } from 'node:fs';
import { isEntryId } from './entry-id.ts';
import { measureTree } from './measure-tree.ts';
import type { EntryReader } from './store-entries.ts';
import type { StoreLayout } from './store-layout.ts';
import { metadataName, parseEntryName, parseTemporaryName } from './store-names.ts';
import type { StoreEntry } from './store-types.ts';

/** Every entry of the store, oldest first; see `Store.list`. */
export function createEntryLister(
  layout: StoreLayout,
  reader: EntryReader,
): () => Promise<StoreEntry[]> {
  const { dir, entryPath } = layout;
  const { readMetadata, toEntry } = reader;

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
      let isRootfsDir = rootfs?.isDirectory() === true;
      // A UUID entry's is read even when the directory read missed the name: it can race a
      // rename. A hand-made directory has none.
      const isUuid = isEntryId(id);
      const metadata =
        seen.hasMetadata || (isRootfsDir && isUuid) ? await readMetadata(id) : undefined;
      const valid = metadata === undefined || 'invalid' in metadata ? undefined : metadata;
      // A rootfs without metadata: a removal may have renamed the rootfs away and unlinked
      // the metadata between our two reads. A commit puts the metadata in place first, so
      // only a rootfs that is still there now truly lacks it.
      if (isRootfsDir && metadata === undefined && isUuid) {
        isRootfsDir =
          (await fs.lstat(entryPath(id)).catch(() => undefined))?.isDirectory() === true;
        if (!isRootfsDir) continue;
      }
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

  return list;
}
