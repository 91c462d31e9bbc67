import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // The CLI imports core's modules from their sources (see tsconfig.json, tsdown.config.ts).
    alias: [
      {
        find: /^@polythene\/core\/internal\/(.+)$/,
        replacement: `${fileURLToPath(new URL('../../packages/core/src', import.meta.url))}/$1.ts`,
      },
    ],
  },
  test: {
    testTimeout: 180_000,
    hookTimeout: 300_000,
    // Integration tests drive podman and sandboxes; two cores are shared between them.
    maxWorkers: 2,
    setupFiles: ['./test/remove-temporary-paths.ts'],
  },
});
