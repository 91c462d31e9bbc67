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
  /** Removes the images the testkit cached; see {@link clearImageCache}. */
  clearImageCache(options?: ClearImageCacheOptions): Promise<string[]>;
} = {
  image: openImage,
  clearImageCache,
};
