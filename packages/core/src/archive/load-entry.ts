import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { hasErrorCode, PolytheneError } from '@polythene/errors';
import { extractTarStream } from '@polythene/podman-export';
import {
  type EntryMetadata,
  type EntryMetadataInput,
  NAMES_DIR,
  NAMES_LOCK,
  userNamespacePrefix,
  withFileLock,
} from '@polythene/store';
import {
  type ApiForm,
  assertOptions,
  assertStringArgument,
  failUsage,
  STORE_OPTION_KINDS,
} from '../check-arguments.ts';
import { openStoreFromOptions, type StoreOptions } from '../store-options.ts';
import { compressionForPath, startCompressionFilter } from './archive-compression.ts';
import { ArchiveVerifier } from './archive-verifier.ts';
import { digestEntryTree } from './entry-archive.ts';
import { ROOTFS_MEMBER } from './rootfs-tar.ts';

/** What {@link load} did. */
export interface LoadResult {
  /** The entry's id: the one it had where it was saved. */
  readonly id: string;
  /** False when the store already held this entry with identical content (nothing done). */
  readonly isNew: boolean;
}

/**
 * Loads an archive written by `save` into the store, keeping the entry's id and metadata.
 * The archive is extracted as safely as a pull (see `extractTarStream`) into a temporary
 * directory, checked against its digests, and only then renamed into place: a damaged,
 * changed or truncated archive is refused and leaves nothing. An entry with that id and the
 * same tree is a no-op; with another tree, `POLYTHENE_ENTRY_EXISTS`.
 */
export async function load(file: string, options: StoreOptions = {}): Promise<LoadResult> {
  const api: ApiForm = { name: 'load', form: "load(file, options), e.g. load('entry.tar.zst')" };
  assertStringArgument(api, file, 'the first argument, the archive file,');
  if (file === '') failUsage(api, 'the archive file is empty (polythene load FILE)');
  assertOptions(api, options, STORE_OPTION_KINDS);
  const path = resolve(file);
  const store = await openStoreFromOptions(options, true);
  await store.clearStaleTemporaries();
  await using staging = await store.createEntry();
  const verifier = new ArchiveVerifier(path);
  try {
    // Unprivileged: owners kept, shifted into the user's subordinate range (issue 15).
    await extractTarStream(await openArchive(path, verifier), staging.path, {
      userNamespacePrefix: userNamespacePrefix(),
    });
  } catch (error) {
    // The extractor speaks of image pulls; say which archive, and that nothing stays.
    if (!hasErrorCode(error, 'POLYTHENE_EXTRACT_FAILED') || error.message.includes(path))
      throw error;
    throw new PolytheneError(
      'POLYTHENE_EXTRACT_FAILED',
      `archive ${path} is refused: ${error.message.replace(/; pull again$/, '').replace('the image archive', 'it')}; nothing was loaded`,
      { cause: error },
    );
  }
  const { metadata } = verifier.result();
  const rootfs = join(staging.path, ROOTFS_MEMBER);
  if (!(await fs.lstat(rootfs).catch(() => undefined))?.isDirectory())
    throw new PolytheneError(
      'POLYTHENE_EXTRACT_FAILED',
      `archive ${path} is refused: it holds no ${ROOTFS_MEMBER}/ directory; nothing was loaded`,
    );
  const id = metadata.id;
  // One load at a time per store decides whether the id is free, so two loads of one id
  // cannot both commit it.
  return await withFileLock(join(store.dir, NAMES_DIR, NAMES_LOCK), async () => {
    if ((await fs.lstat(join(store.dir, id)).catch(() => undefined)) !== undefined) {
      if ((await digestEntryTree(store, id)) === verifier.rootfsDigest())
        return { id, isNew: false };
      throw new PolytheneError(
        'POLYTHENE_ENTRY_EXISTS',
        `store ${store.dir} already holds entry ${id} with different content; remove it with \`polythene rm ${id}\` to load this archive`,
      );
    }
    const createdAt = Number.isNaN(Date.parse(metadata.createdAt)) ? undefined : metadata.createdAt;
    await using pending = await store.createEntry({ id, createdAt });
    await fs.rmdir(pending.path);
    await fs.rename(rootfs, pending.path);
    await pending.commit(inputOf(metadata));
    return { id, isNew: true };
  });
}

async function openArchive(path: string, verifier: ArchiveVerifier): Promise<Readable> {
  const handle = await fs.open(path, 'r').catch((error: unknown) => {
    throw new PolytheneError(
      'POLYTHENE_EXTRACT_FAILED',
      `cannot read archive ${path}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  });
  const raw = handle.createReadStream();
  raw.on('error', (error) => verifier.destroy(error));
  const compression = compressionForPath(path);
  if (compression === 'none') return raw.pipe(verifier);
  const filter = startCompressionFilter(compression, 'decompress', path);
  const { stdin, stdout } = filter.child;
  if (stdin === null || stdout === null) throw new Error('decompressor has no pipes');
  raw.pipe(stdin);
  stdin.on('error', () => undefined);
  stdout.on('error', (error) => verifier.destroy(error));
  filter.done.catch((error: unknown) => verifier.destroy(error as Error));
  // A decompressor failure must not look like a clean end: end the verifier only after it.
  stdout.pipe(verifier, { end: false });
  stdout.once('end', () => {
    filter.done.then(
      () => verifier.end(),
      () => undefined,
    );
  });
  return verifier;
}

function inputOf(metadata: EntryMetadata): EntryMetadataInput {
  const input: Record<string, unknown> = { ...metadata };
  for (const key of [
    'schemaVersion',
    'id',
    'createdAt',
    'sizeBytes',
    'fileCount',
    'layout',
    'lowerIds',
  ])
    delete input[key];
  return input as unknown as EntryMetadataInput;
}
