import { libraryConfig } from '@polythene/build-config';
import { defineConfig } from 'tsdown';

export default defineConfig({
  ...libraryConfig,
  // The second entry is the side-effect setup file behind `@polythene/testkit/matchers`.
  entry: ['src/index.ts', 'src/setup-matchers.ts'],
});
