import { createWriteStream, promises as fs } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isPolytheneError, PolytheneError } from '@polythene/errors';
import { assertEntryRef, resolveEntryRef } from '@polythene/store';
import {
  type ApiForm,
  assertOptions,
  assertStringArgument,
  failUsage,
  kinds,
  type OptionKind,
  STORE_OPTION_KINDS,
} from '../check-arguments.ts';
import { openStoreFromOptions, type StoreOptions } from '../store-options.ts';
import { compressionForPath, startCompressionFilter } from './archive-compression.ts';
import { generateEntryArchive, withEntryTree } from './entry-archive.ts';
import { writeEntryArchiveFile } from './entry-archive-file.ts';

/** Options for {@link save}. */
export interface SaveOptions extends StoreOptions {
  /** The archive file to write; `.tar.zst` or `.tar.gz` compresses with the host's zstd or gzip. */
  readonly output: string;
}

/** What {@link save} wrote. */
export interface SaveResult {
  /** The saved entry's id, kept by `load`. */
  readonly id: string;
  /** The archive's absolute path. */
  readonly path: string;
  /** Its size in bytes. */
  readonly sizeBytes: number;
}

const SAVE_OPTION_KINDS: Readonly<Record<keyof SaveOptions, OptionKind>> = {
  ...STORE_OPTION_KINDS,
  output: kinds.string,
};

/**
 * Writes entry `ref` (id or name) to an archive file that `load` turns back into the same
 * entry, id and metadata included, in this store or another. Streamed: memory use does not
 * grow with the tree. The file appears whole (written beside it, then renamed) or not at all.
 */
export async function save(ref: string, options: SaveOptions): Promise<SaveResult> {
  const api: ApiForm = {
    name: 'save',
    form: "save(idOrName, { output: 'entry.tar.zst', ...options })",
  };
  assertStringArgument(api, ref, "the first argument, an entry's id or name,");
  assertOptions(api, options, SAVE_OPTION_KINDS, true);
  assertEntryRef(ref);
  // The CLI passes an empty output for a missing -o: say which flag.
  if (typeof options.output !== 'string' || options.output === '')
    failUsage(api, 'options.output must name the archive file to write (polythene save -o FILE)');
  const output = resolve(options.output);
  const store = await openStoreFromOptions(options, false);
  const id = resolveEntryRef(store.dir, ref);
  const metadata = await store.inspect(id);
  const temporary = join(dirname(output), `.${basename(output)}.tmp-${process.pid}`);
  try {
    await withEntryTree(store, id, async (rootfs) => {
      const compression = compressionForPath(output);
      if (compression === 'none') {
        // tar writes into the file itself: no stream through Node.
        await writeEntryArchiveFile(metadata, rootfs, temporary);
        return;
      }
      const source = Readable.from(generateEntryArchive(metadata, rootfs), { objectMode: false });
      const file = createWriteStream(temporary, { flags: 'wx', mode: 0o600 });
      const filter = startCompressionFilter(compression, 'compress', output);
      const { stdin, stdout } = filter.child;
      if (stdin === null || stdout === null) throw new Error('compressor has no pipes');
      await Promise.all([pipeline(source, stdin), pipeline(stdout, file), filter.done]);
    });
    await fs.rename(temporary, output);
  } catch (error) {
    await fs.unlink(temporary).catch(() => undefined);
    if (isPolytheneError(error)) throw error;
    throw new PolytheneError(
      'POLYTHENE_STORE_UNAVAILABLE',
      `cannot write ${output}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  const { size } = await fs.stat(output);
  return { id, path: output, sizeBytes: size };
}
