import { fileURLToPath } from 'node:url';
import { libraryConfig } from '@polythene/build-config';
import { defineConfig, type UserConfig } from 'tsdown';

// The `polythene` binary is CommonJS with every dependency inlined: Node 20 starts CommonJS
// faster than ESM, and `polythene exec` pays start-up on every call.
// The binary bundles our packages from their sources, not their built dist files: one module
// per source file lets the bundler leave what exec does not use (clone, diff, pull) out of the
// file exec loads.
// `@polythene/core/internal/<file>.ts` is that source file of core (see tsconfig.json): the
// CLI imports core's modules one by one, never through a barrel, which would put all of them
// in the file every exec loads. Listed first: an alias also matches a key's subpaths.
const packageSources = Object.fromEntries([
  ['@polythene/core/internal', fileURLToPath(new URL('../../packages/core/src', import.meta.url))],
  ...[
    'errors',
    'doctor',
    'native',
    'store',
    'podman-export',
    'probe',
    'backend-bwrap',
    'backend-proot',
    'backend-chroot',
    'core',
  ].map((name) => [
    `@polythene/${name}`,
    fileURLToPath(new URL(`../../packages/${name}/src/index.ts`, import.meta.url)),
  ]),
]);

// Node decodes a pure-ASCII file on its fast path and V8 keeps it as a one-byte string; the
// few non-ASCII characters left once comments are gone (an ellipsis in a message) become
// escapes, which mean the same inside strings, templates and regular expressions.
const asciiOutput = {
  name: 'polythene:ascii-output',
  // After every other step: the final printer would turn escapes back into characters.
  generateBundle(_options: unknown, bundle: Record<string, { type: string; code?: string }>) {
    for (const output of Object.values(bundle)) {
      if (output.type !== 'chunk' || output.code === undefined) continue;
      output.code = output.code.replace(
        /[\u0080-\uffff]/g,
        (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
      );
    }
  },
};

// rolldown puts its helpers in a chunk of their own and makes every chunk require it, even one
// that uses none of them, as cli-main does: that require costs each exec a file read (~0.3 ms).
// The helpers have no side effects, so an unused require of them is dropped; the chunks that
// use them require them themselves. The line stays (empty), so the source map still fits.
const dropUnusedRuntimeRequire = {
  name: 'polythene:drop-unused-runtime-require',
  generateBundle(_options: unknown, bundle: Record<string, { type: string; code?: string }>) {
    for (const output of Object.values(bundle)) {
      if (output.type !== 'chunk' || output.code === undefined) continue;
      const match = /^require\("\.\/(rolldown-runtime-[\w-]+\.cjs)"\);$/m.exec(output.code);
      if (match?.[1] === undefined) continue;
      const isUsedOtherwise = output.code.split(match[1]).length > 2;
      if (!isUsedOtherwise) output.code = output.code.replace(match[0], '');
    }
  },
};

const binaryConfig: UserConfig = {
  alias: packageSources,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  dts: false,
  sourcemap: true,
  clean: false,
  deps: { alwaysBundle: [/.*/] },
};

// In the programmatic API (which leaves our packages as imports), a module of core's is
// imported through core's published `./internal` barrel, which exports the same names.
const coreInternalAsPackage = {
  name: 'polythene:core-internal-as-package',
  resolveId: {
    // Before tsdown's own resolution of dependencies, which would keep the subpath.
    order: 'pre' as const,
    handler(source: string) {
      return source.startsWith('@polythene/core/internal/')
        ? { id: '@polythene/core/internal', external: true }
        : undefined;
    },
  },
};

export default defineConfig([
  // The programmatic API: ESM, our packages and npm dependencies left as imports.
  { ...libraryConfig, plugins: [coreInternalAsPackage] },
  // The CLI in one file, loaded through the code cache. Lazily imported commands stay lazy
  // (their module code runs only when imported); one file means one read and one cache.
  {
    ...binaryConfig,
    entry: { 'cli-main': 'src/bin.ts' },
    plugins: [asciiOutput, dropUnusedRuntimeRequire],
    outputOptions: {
      codeSplitting: { groups: [{ name: 'cli-core', tags: ['$initial'] }] },
      // No comments: smaller, and pure ASCII, which Node reads and V8 scans fastest.
      comments: false,
    },
  },
  // The launcher `polythene` runs: a separate build, so it shares no chunk with the CLI.
  { ...binaryConfig, entry: { polythene: 'src/launcher.ts' } },
]);
