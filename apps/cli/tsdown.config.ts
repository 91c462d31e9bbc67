import { libraryConfig } from '@polythene/build-config';
import { defineConfig } from 'tsdown';

export default defineConfig([
  // The programmatic API: ESM, our packages and npm dependencies left as imports.
  libraryConfig,
  {
    // The `polythene` binary: one CommonJS bundle with every dependency inlined (commands
    // still load lazily as chunks). Node 20 starts CommonJS faster than ESM, and `polythene
    // exec` pays start-up on every call: about 25 ms less per exec, measured by `pnpm bench`.
    entry: { polythene: 'src/bin.ts' },
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    dts: false,
    sourcemap: true,
    clean: false,
    deps: { alwaysBundle: [/.*/] },
  },
]);
