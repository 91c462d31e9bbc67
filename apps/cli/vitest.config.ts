import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 180_000,
    hookTimeout: 300_000,
    // Integration tests drive podman and sandboxes; two cores are shared between them.
    maxWorkers: 2,
    setupFiles: ['./test/remove-temporary-paths.ts'],
  },
});
