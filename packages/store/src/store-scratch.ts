import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { copyTree } from './copy-tree.ts';
import { materializeLayers } from './materialize-layers.ts';
import {
  createScratchDir,
  createUpperRoot,
  disposerFor,
  type ScratchCopy,
  type ScratchLayer,
} from './scratch-layer.ts';
import type { EntryReader } from './store-entries.ts';
import type { StoreLayout } from './store-layout.ts';

/** Throwaway roots over an entry, for one run. */
export interface StoreScratch {
  /** See `Store.createScratchLayer`. */
  createScratchLayer(id: string): Promise<ScratchLayer>;
  /** See `Store.createScratchCopy`. */
  createScratchCopy(id: string): Promise<ScratchCopy>;
}

/** The {@link StoreScratch} of a store. */
export function createStoreScratch(layout: StoreLayout, reader: EntryReader): StoreScratch {
  const { dir } = layout;
  const { entryLayers, readValidMetadata, stackOf, assertLowersExist } = reader;

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

  return { createScratchLayer, createScratchCopy };
}
