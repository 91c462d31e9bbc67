/**
 * Imports an ES module by URL or specifier, as `import()` would. A caller whose code cannot
 * use `import()` (the `polythene` CLI, loaded through a V8 code cache on Node 20, loses the
 * dynamic-import hook) passes its own.
 */
export type ModuleImporter = (specifier: string) => Promise<unknown>;
