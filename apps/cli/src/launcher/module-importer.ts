/** Imports an ES module by URL or specifier, as `import()` would. */
export type ModuleImporter = (specifier: string) => Promise<unknown>;

// A registered symbol, so the launcher and the CLI bundle (two separate builds) agree on it.
const importerKey = Symbol.for('polythene.cli.moduleImporter');

/**
 * Called by the launcher, whose own code Node compiles normally: code loaded through the V8
 * code cache cannot use `import()` (Node 20 loses the dynamic-import hook for cached code),
 * so custom backend modules are imported through this function instead.
 */
export function installModuleImporter(importer: ModuleImporter): void {
  (globalThis as Record<symbol, unknown>)[importerKey] = importer;
}

/** The launcher's importer, or undefined when not run by the launcher (the API: use `import()`). */
export function findModuleImporter(): ModuleImporter | undefined {
  const importer = (globalThis as Record<symbol, unknown>)[importerKey];
  return typeof importer === 'function' ? (importer as ModuleImporter) : undefined;
}
