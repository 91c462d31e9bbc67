import { defineConfig } from 'vitest/config';

// The workspace's packages (they depend on all of them, so turbo builds them first) are packed
// once per run by the global set-up; each test installs the tarballs it needs with npm.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['./test/pack-workspace.ts'],
    // npm installs (from its cache, the registry for what the cache lacks) and real pulls.
    testTimeout: 300_000,
    hookTimeout: 600_000,
    maxWorkers: 1,
  },
});
