#!/usr/bin/env node
// The `polythene` binary's first file. It stays tiny and loads the real CLI (cli-main.cjs)
// through a V8 code cache: `polythene exec` pays Node's start-up on every call, and compiling
// our code was most of what we added to it (measured by `pnpm bench exec`).
import { join } from 'node:path';
import type { RunCgroup } from '@polythene/probe';
import packageJson from '../package.json' with { type: 'json' };
import { codeCacheVariant, EXIT_CODES_WITHOUT_CACHE } from './launcher/code-cache-variant.ts';
import { startEarlyRunCgroup } from './launcher/early-run-cgroup.ts';
import { loadWithCodeCache, resolveCodeCacheDir } from './launcher/load-with-code-cache.ts';

// First, so the kernel's wait for the move into the run's cgroup overlaps loading the CLI.
const earlyRunCgroup = startEarlyRunCgroup(process.argv.slice(2), process.env);
const cacheDir = resolveCodeCacheDir();
// exec gets caches of its own, made by an exec through the same backend: what a `--version`
// run compiled would leave exec compiling most of its code on every call.
const cli = loadWithCodeCache(
  join(__dirname, 'cli-main.cjs'),
  cacheDir === undefined
    ? undefined
    : {
        cacheDir,
        release: packageJson.version,
        variant: codeCacheVariant(process.argv, process.env),
        exitCodesWithoutCache: EXIT_CODES_WITHOUT_CACHE,
      },
  // This file is CommonJS once built, in the same directory as cli-main.cjs.
  require,
);
// The CLI is given this file's importer (code the code cache loaded cannot use `import()`)
// and the run cgroup started above.
(
  cli.exports as {
    main(importModule: (specifier: string) => Promise<unknown>, runCgroup?: RunCgroup): void;
  }
).main((specifier) => import(specifier), earlyRunCgroup);
