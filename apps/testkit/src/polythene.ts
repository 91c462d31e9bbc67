import { type EntryOptions, openEntry } from './open-entry.ts';
import {
  type ClearImageCacheOptions,
  clearImageCache,
  type ImageOptions,
  openImage,
  type PolytheneImage,
} from './open-image.ts';

/** The testkit's entry object: `await polythene.image('busybox')`. */
export const polythene: {
  /** Pulls an image once per test run and returns it; see {@link openImage}. */
  image(ref: string, options?: ImageOptions): Promise<PolytheneImage>;
  /** An entry already in the store, by name or UUID; see {@link openEntry}. */
  entry(ref: string, options?: EntryOptions): Promise<PolytheneImage>;
  /** Removes the images the testkit cached; see {@link clearImageCache}. */
  clearImageCache(options?: ClearImageCacheOptions): Promise<string[]>;
} = {
  image: openImage,
  entry: openEntry,
  clearImageCache,
};
