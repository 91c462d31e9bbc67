import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { EntryMetadata, Store } from '@polythene/store';
import { startRootfsTar } from './rootfs-tar.ts';
import { createFileMember, formatDigest, newHash, TAR_END, TarFramer } from './tar-blocks.ts';

// An entry archive is one tar stream, in this order:
//   polythene-entry.json    { format, version, metadata }: the entry's id and metadata
//   rootfs/, rootfs/…       the tree, as GNU tar writes it (sorted, numeric owners)
//   polythene-digests.json  { format, version, entrySha256, rootfsSha256, rootfsBytes }
// The digests cover the raw bytes (headers and data) of the first member and of the tree's
// members, so a changed member or a cut-off archive is refused. They catch corruption, not a
// forger, who can rewrite them too.

/** The first member's name. */
export const ENTRY_MEMBER = 'polythene-entry.json';
/** The last member's name. */
export const DIGESTS_MEMBER = 'polythene-digests.json';
/** The format tag of both members. */
export const ARCHIVE_FORMAT = 'polythene-entry-archive';

/** The first member's content. */
export interface ArchivedEntry {
  format: typeof ARCHIVE_FORMAT;
  version: 1;
  metadata: EntryMetadata;
}

/** The last member's content. */
export interface ArchiveDigests {
  format: typeof ARCHIVE_FORMAT;
  version: 1;
  entrySha256: string;
  rootfsSha256: string;
  rootfsBytes: number;
}

/** The metadata as a saved entry carries it: a plain directory entry, whatever it was here. */
export function archivedMetadata(metadata: EntryMetadata): EntryMetadata {
  const copy: EntryMetadata = { ...metadata, layout: 'directory' };
  delete copy.lowerIds;
  return copy;
}

/**
 * Runs `fn` with a plain directory holding entry `id`'s merged tree: its own rootfs, or a
 * throwaway copy for an overlay clone.
 */
export async function withEntryTree<T>(
  store: Store,
  id: string,
  fn: (rootfs: string) => Promise<T>,
): Promise<T> {
  const layers = await store.entryLayers(id);
  if (layers.layout === 'directory') return fn(layers.rootfs);
  await using copy = await store.createScratchCopy(id);
  return await fn(copy.rootfs);
}

/** The tree's members as archive bytes, and their digest once `done` resolves. */
export function streamRootfsMembers(rootfs: string): {
  stream: Readable;
  done: Promise<{ rootfsSha256: string; rootfsBytes: number }>;
} {
  const tar = startRootfsTar(rootfs);
  const hash = newHash();
  const framer = new TarFramer({ stopAtEnd: true, hash });
  tar.stdout.on('error', (error) => framer.destroy(error));
  tar.stdout.pipe(framer);
  const done = (async () => {
    await tar.done;
    await finished(framer);
    return { rootfsSha256: formatDigest(hash), rootfsBytes: framer.bytesPassed };
  })();
  done.catch(() => undefined);
  return { stream: framer, done };
}

/** The whole archive of an entry, chunk by chunk. */
export async function* generateEntryArchive(
  metadata: EntryMetadata,
  rootfs: string,
): AsyncGenerator<Buffer> {
  const entryMember = createEntryMember(metadata);
  yield entryMember;
  const members = streamRootfsMembers(rootfs);
  for await (const chunk of members.stream) yield chunk as Buffer;
  yield createDigestsMember(metadata, entryMember, await members.done);
  yield TAR_END;
}

/** The archive's first member: the entry's id and metadata. */
export function createEntryMember(metadata: EntryMetadata): Buffer {
  const entry: ArchivedEntry = {
    format: ARCHIVE_FORMAT,
    version: 1,
    metadata: archivedMetadata(metadata),
  };
  return createFileMember(
    ENTRY_MEMBER,
    Buffer.from(`${JSON.stringify(entry, null, 2)}\n`),
    Date.parse(metadata.createdAt) / 1000,
  );
}

/** The archive's last member: the digests of the first member and of the tree's members. */
export function createDigestsMember(
  metadata: EntryMetadata,
  entryMember: Buffer,
  tree: { rootfsSha256: string; rootfsBytes: number },
): Buffer {
  const digests: ArchiveDigests = {
    format: ARCHIVE_FORMAT,
    version: 1,
    entrySha256: formatDigest(newHash().update(entryMember)),
    rootfsSha256: tree.rootfsSha256,
    rootfsBytes: tree.rootfsBytes,
  };
  return createFileMember(
    DIGESTS_MEMBER,
    Buffer.from(`${JSON.stringify(digests, null, 2)}\n`),
    Date.parse(metadata.createdAt) / 1000,
  );
}

/** The digest of entry `id`'s tree as an archive would record it (to compare with one). */
export async function digestEntryTree(store: Store, id: string): Promise<string> {
  return withEntryTree(store, id, async (rootfs) => {
    const members = streamRootfsMembers(rootfs);
    members.stream.resume();
    return (await members.done).rootfsSha256;
  });
}
