import { test as baseTest, type TestAPI } from 'vitest';
import type { Box } from './box-types.ts';
import { type ImageOptions, openImage, type PolytheneImage } from './open-image.ts';
import { installPolytheneMatchers } from './polythene-matchers.ts';

/** The fixtures of a test made by {@link createPolytheneTest}. */
export interface PolytheneFixtures {
  /** The image, pulled once per test run and shared by every worker. */
  image: PolytheneImage;
  /** A fresh box of the image for this test, disposed when the test ends (pass, fail or timeout). */
  box: Box;
}

/**
 * A vitest `test` with an `image` and a `box` fixture for image `ref`; also installs the
 * matchers ({@link installPolytheneMatchers}). A box is only made for tests that use it:
 * `test('…', async ({ box }) => { … })`.
 */
export function createPolytheneTest(
  ref: string,
  options: ImageOptions = {},
): TestAPI<PolytheneFixtures> {
  installPolytheneMatchers();
  return baseTest.extend<PolytheneFixtures>({
    // biome-ignore lint/correctness/noEmptyPattern: vitest reads fixture dependencies from the destructuring pattern
    image: async ({}, use) => {
      await use(await openImage(ref, options));
    },
    box: async ({ image }, use) => {
      const box = await image.box();
      try {
        await use(box);
      } finally {
        await box.dispose();
      }
    },
  });
}
