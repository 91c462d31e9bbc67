import { libraryConfig } from '@polythene/build-config';
import { defineConfig } from 'tsdown';

export default defineConfig({
  ...libraryConfig,
  // The second entry is the script the scripted suites run in another process (another user).
  entry: ['src/index.ts', 'src/run-conformance-script.ts'],
});
