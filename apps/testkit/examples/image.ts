import { createPolytheneTest } from '@polythene/testkit';

/** The image under test: pulled once for the whole run, whatever the number of workers. */
export const IMAGE = 'localhost/polythene-test/busybox:latest';

/** `test` with a fresh `box` of the image per test, removed when the test ends. */
export const test = createPolytheneTest(IMAGE);
