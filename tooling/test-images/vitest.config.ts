import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Building images the first time, and rootless podman for the test user, take a while.
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});
