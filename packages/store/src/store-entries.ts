import { promises as fs, lstatSync, readFileSync, type Stats } from 'node:fs';
import { PolytheneError } from '@polythene/errors';
import { diffLayers, type TreeDiff } from './diff-layers.ts';
import { assertEntryId, isEntryId } from './entry-id.ts';
import { type EntryMetadata, parseEntryMetadata } from './entry-metadata.ts';
import { HINT, type StoreLayout } from './store-layout.ts';
import type { EntryLayers, LayerStack, StoreEntry } from './store-types.ts';
import { describeError, errorCode } from './system-error.ts';
import { diffTreeAgainstManifest, readManifest } from './tree-manifest.ts';

/** Reads a store's entries: their rootfs, metadata, status and layers. */
export interface EntryReader {
  /** lstat of entry `id`'s rootfs, refusing anything but a real directory; undefined when absent. */
  lstatRootfs(id: string): Promise<Stats | undefined>;
  /** True when entry `id` has a rootfs directory. */
  hasRootfs(id: string): Promise<boolean>;
  /** The metadata in file `path` for entry `id`: undefined when absent, `{ invalid }` when unusable. */
  readMetadataFile(
    path: string,
    id: string,
  ): Promise<EntryMetadata | { invalid: string } | undefined>;
  /** Entry `id`'s metadata, as {@link EntryReader.readMetadataFile}. */
  readMetadata(id: string): Promise<EntryMetadata | { invalid: string } | undefined>;
  /** Entry `id`'s metadata when valid. */
  readValidMetadata(id: string): Promise<EntryMetadata | undefined>;
  /** The {@link StoreEntry} row of entry `id` from what was read of it. */
  toEntry(
    id: string,
    rootfs: Stats | undefined,
    metadata: EntryMetadata | undefined,
    isLowerMissing?: boolean,
  ): StoreEntry;
  /** See `Store.getEntry`. */
  getEntry(id: string): Promise<StoreEntry>;
  /** See `Store.rootfsPath`. */
  rootfsPath(id: string): Promise<string>;
  /** See `Store.inspect`. */
  inspect(id: string): Promise<EntryMetadata>;
  /** See `Store.entryLayersAndMetadata`. */
  entryLayersAndMetadata(
    id: string,
  ): Promise<{ layers: EntryLayers; metadata: EntryMetadata | undefined }>;
  /** See `Store.entryLayers`. */
  entryLayers(id: string): Promise<EntryLayers>;
  /** Entry `id`'s layers as a stack, top first, with their entry ids. */
  stackOf(id: string, layers: EntryLayers, metadata: EntryMetadata | undefined): LayerStack;
  /** Throws when one of `lowerIds` (the layers of `id`) has no rootfs. */
  assertLowersExist(id: string, lowerIds: readonly string[]): Promise<void>;
  /** See `Store.diffEntry`. */
  diffEntry(id: string): Promise<TreeDiff>;
}

/** The {@link EntryReader} of a store. */
export function createEntryReader(layout: StoreLayout): EntryReader {
  const { entryPath, metadataPath, manifestPath, workPath, notFound, lowerMissing } = layout;

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
    let rootfs = await lstatRootfs(id);
    const valid = await readValidMetadata(id);
    // Metadata gone after the rootfs was seen: a removal (rootfs first) may have passed
    // between the two reads, so look at the rootfs again.
    if (rootfs !== undefined && valid === undefined && isEntryId(id))
      rootfs = await lstatRootfs(id);
    if (rootfs === undefined && valid === undefined) throw notFound(id);
    let isLowerMissing = false;
    for (const lowerId of valid?.lowerIds ?? []) {
      if (!(await hasRootfs(lowerId))) isLowerMissing = true;
    }
    return toEntry(id, rootfs, valid, isLowerMissing);
  }

  async function rootfsPath(id: string): Promise<string> {
    assertEntryId(id);
    if ((await lstatRootfs(id)) === undefined) throw notFound(id);
    return entryPath(id);
  }

  async function inspect(id: string): Promise<EntryMetadata> {
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
  function stackOf(
    id: string,
    layers: EntryLayers,
    metadata: EntryMetadata | undefined,
  ): LayerStack {
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

  return {
    lstatRootfs,
    hasRootfs,
    readMetadataFile,
    readMetadata,
    readValidMetadata,
    toEntry,
    getEntry,
    rootfsPath,
    inspect,
    entryLayersAndMetadata,
    entryLayers,
    stackOf,
    assertLowersExist,
    diffEntry,
  };
}
