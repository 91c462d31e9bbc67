#!/usr/bin/env node
// The `polythene` binary's first file. It stays tiny and loads the real CLI (cli-main.cjs)
// through a V8 code cache: `polythene exec` pays Node's start-up on every call, and compiling
// our code was most of what we added to it (measured by `pnpm bench exec`).
import { join } from 'node:path';
import packageJson from '../package.json' with { type: 'json' };
import { loadWithCodeCache, resolveCodeCacheDir } from './launcher/load-with-code-cache.ts';
import { installModuleImporter } from './launcher/module-importer.ts';

installModuleImporter((specifier) => import(specifier));
const cacheDir = resolveCodeCacheDir();
// exec gets a cache of its own, made by an exec: what a `--version` run compiled would leave
// exec compiling most of its code on every call.
const variant = process.argv[2] === 'exec' ? 'exec' : 'other';
loadWithCodeCache(
  join(__dirname, 'cli-main.cjs'),
  cacheDir === undefined ? undefined : { cacheDir, release: packageJson.version, variant },
  // This file is CommonJS once built, in the same directory as cli-main.cjs.
  require,
);
