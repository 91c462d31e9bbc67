// The CLI itself, loaded by the `polythene` launcher (src/launcher.ts) through a code cache;
// the launcher calls `main` with its module importer.
import type { ModuleImporter } from '@polythene/core';
import type { RunCgroup } from '@polythene/probe';
import packageJson from '../package.json' with { type: 'json' };
import { runCli } from './cli.ts';
import { useEarlyRunCgroup, useModuleImporter } from './engine.ts';
import { canExitAtOnce } from './exit-at-once.ts';

/**
 * Runs the CLI on `process.argv`; `importModule` imports custom backend modules, and exec
 * adopts `runCgroup` (made by the launcher), which is disposed of at the end either way.
 */
function main(importModule: ModuleImporter, runCgroup?: RunCgroup): void {
  useModuleImporter(importModule);
  useEarlyRunCgroup(runCgroup);
  const argv = process.argv.slice(2);
  // No top-level await: this entry is bundled as CommonJS (see tsdown.config.ts).
  void runCli(argv, packageJson.version).then(async (exitCode) => {
    await runCgroup?.dispose();
    // exec has waited for everything it started (the backend, the clean-up of its run): once
    // its output is out too, exiting at once skips Node's teardown of the heap, 0.3 ms of every
    // exec. 'exit' listeners still run (the code cache is written there).
    if (argv[0] === 'exec' && canExitAtOnce()) process.exit(exitCode);
    process.exitCode = exitCode;
  });
}

// The launcher calls `main` with its importer. Added to `module.exports` by hand (this entry is
// bundled as CommonJS): an ES export would make the bundler split the CLI into a facade and a
// chunk, one more file for every exec to read. (The lazy chunks import from this one.)
module.exports.main = main;
