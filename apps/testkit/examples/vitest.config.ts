import { defineConfig } from 'vitest/config';

// The example suite, run in CI by the testkit's `test` script. A user's own config needs
// nothing special; here `@polythene/testkit` points at the source so the examples test the
// code of this commit without a build.
export default defineConfig({
  root: import.meta.dirname,
  cacheDir: process.env.FIXTURE_CACHE_DIR ?? 'node_modules/.vite',
  resolve: {
    alias: { '@polythene/testkit': new URL('../src/index.ts', import.meta.url).pathname },
  },
  test: {
    include: ['*.test.ts'],
    // Builds the local busybox image the examples use (CI has no registry access).
    globalSetup: ['./global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 300_000,
  },
});
