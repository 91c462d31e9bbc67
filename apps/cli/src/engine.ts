import { createBwrapBackend } from '@polythene/backend-bwrap';
import { createChrootBackend } from '@polythene/backend-chroot';
import { createProotBackend } from '@polythene/backend-proot';
import type { BackendSource, ModuleImporter } from '@polythene/core';
import type { Backend, RunCgroup } from '@polythene/probe';

// The CLI is where the engine is composed: @polythene/core ships no backend, and the CLI
// gives it the three built-ins and the launcher's module importer.

let builtinBackends: readonly Backend[] | undefined;
let launcherImporter: ModuleImporter | undefined;

/** The built-in backends, in the default probe order: one list per process. */
export function createBuiltinBackends(): readonly Backend[] {
  builtinBackends ??= [createBwrapBackend(), createProotBackend(), createChrootBackend()];
  return builtinBackends;
}

/**
 * Keeps the importer the launcher passed to `main` (code loaded through the V8 code cache
 * cannot use `import()` on Node 20): custom backend modules are imported through it.
 */
export function useModuleImporter(importer: ModuleImporter | undefined): void {
  launcherImporter = importer;
}

let earlyRunCgroup: RunCgroup | undefined;

/** Keeps the run cgroup the launcher started for this exec (see launcher/early-run-cgroup.ts). */
export function useEarlyRunCgroup(runCgroup: RunCgroup | undefined): void {
  earlyRunCgroup = runCgroup;
}

/** That run cgroup, once: the first exec of this process adopts it. */
export function takeEarlyRunCgroup(): { runCgroup?: RunCgroup } {
  const runCgroup = earlyRunCgroup;
  earlyRunCgroup = undefined;
  return runCgroup === undefined ? {} : { runCgroup };
}

/** What every engine call of the CLI runs with: the built-ins and the launcher's importer. */
export function cliBackends(): BackendSource {
  return launcherImporter === undefined
    ? { backends: createBuiltinBackends() }
    : { backends: createBuiltinBackends(), importModule: launcherImporter };
}
