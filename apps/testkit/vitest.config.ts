import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // The fixture suites are run by the tests, in subprocesses; the examples have their own config.
    exclude: ['test/fixtures/**', 'examples/**', 'node_modules/**'],
    testTimeout: 180_000,
    hookTimeout: 300_000,
    // Integration tests drive podman and sandboxes; two cores are shared between them.
    maxWorkers: 2,
  },
});
