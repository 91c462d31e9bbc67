import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PolytheneError } from '@polythene/errors';
import type { Backend } from './backend.ts';

/** Options for {@link loadBackendModule}. */
export interface LoadBackendModuleOptions {
  /** Directory that relative paths and package names are resolved from (usually `process.cwd()`). */
  readonly cwd: string;
  /**
   * Imports the module's `file:` URL; default `import()`. A host that runs this code where
   * `import()` is unavailable (the CLI compiles its bundle with a V8 code cache) passes its own.
   */
  readonly importModule?: (url: string) => Promise<unknown>;
}

/**
 * Loads a custom backend with `import()`: a path (`./my-backend.js`, `/abs/backend.mjs`,
 * resolved against `cwd`) or a package name installed where `cwd` can see it. The module's
 * default export is a `BackendFactory` (called, may be async) or a Backend object. Any failure
 * (not found, throws while loading, no default export, wrong shape) becomes a
 * `POLYTHENE_BACKEND_MODULE` error naming the module and what to do.
 */
export async function loadBackendModule(
  specifier: string,
  options: LoadBackendModuleOptions,
): Promise<Backend> {
  const label = `backend module "${specifier}"`;
  const url = resolveBackendModuleUrl(specifier, options.cwd, label);

  let namespace: Record<string, unknown>;
  try {
    const importModule = options.importModule ?? ((target: string) => import(target));
    namespace = (await importModule(url)) as Record<string, unknown>;
  } catch (error) {
    throw new PolytheneError(
      'POLYTHENE_BACKEND_MODULE',
      `${label} failed to load (${describeError(error)}): fix the module so that it imports cleanly`,
      { cause: error },
    );
  }

  if (!('default' in namespace) || namespace.default === undefined) {
    throw new PolytheneError(
      'POLYTHENE_BACKEND_MODULE',
      `${label} has no default export: add \`export default\` of a factory function that returns a Backend`,
    );
  }

  let candidate: unknown = namespace.default;
  if (typeof candidate === 'function') {
    try {
      candidate = await (candidate as () => unknown)();
    } catch (error) {
      throw new PolytheneError(
        'POLYTHENE_BACKEND_MODULE',
        `${label}: its factory threw (${describeError(error)}): fix the factory`,
        { cause: error },
      );
    }
  }

  const problem = findShapeProblem(candidate);
  if (problem !== undefined) {
    throw new PolytheneError(
      'POLYTHENE_BACKEND_MODULE',
      `${label} does not provide a Backend: ${problem}; fix its default export (a factory returning { name, description, probe, run })`,
    );
  }
  return candidate as Backend;
}

/** What is wrong with a would-be Backend, or undefined when it has the contract's shape. */
function findShapeProblem(candidate: unknown): string | undefined {
  if (typeof candidate !== 'object' || candidate === null) {
    return `got ${candidate === null ? 'null' : typeof candidate} instead of an object`;
  }
  const value = candidate as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof value.name !== 'string' || value.name.trim() === '') {
    problems.push('"name" must be a non-empty string');
  }
  if (typeof value.description !== 'string') problems.push('"description" must be a string');
  if (typeof value.probe !== 'function') problems.push('"probe" must be a function');
  if (typeof value.run !== 'function') problems.push('"run" must be a function');
  if (
    value.aliases !== undefined &&
    !(Array.isArray(value.aliases) && value.aliases.every((alias) => typeof alias === 'string'))
  ) {
    problems.push('"aliases" must be an array of strings');
  }
  if (
    value.binaries !== undefined &&
    !(Array.isArray(value.binaries) && value.binaries.every((name) => typeof name === 'string'))
  ) {
    problems.push('"binaries" must be an array of strings');
  }
  return problems.length === 0 ? undefined : problems.join(', ');
}

function isPathSpecifier(specifier: string): boolean {
  return (
    specifier.startsWith('./') ||
    specifier.startsWith('../') ||
    specifier === '.' ||
    specifier === '..' ||
    isAbsolute(specifier)
  );
}

function resolveBackendModuleUrl(specifier: string, cwd: string, label: string): string {
  if (specifier.trim() === '') {
    throw new PolytheneError(
      'POLYTHENE_BACKEND_MODULE',
      'backend module name is empty: pass a package name or a path like ./my-backend.js',
    );
  }
  if (specifier.startsWith('file:')) return specifier;
  if (isPathSpecifier(specifier)) {
    const path = resolve(cwd, specifier);
    if (!existsSync(path) || !statSync(path).isFile()) {
      throw new PolytheneError(
        'POLYTHENE_BACKEND_MODULE',
        `${label} not found: ${path} is not a file; check the path (relative paths start from ${cwd})`,
      );
    }
    return pathToFileURL(path).href;
  }
  const path = resolvePackageEntry(specifier, cwd);
  if (path === undefined) {
    throw new PolytheneError(
      'POLYTHENE_BACKEND_MODULE',
      `${label} is not installed where ${cwd} can see it: install it (npm install ${packageNameOf(specifier)}) or pass a path like ./my-backend.js`,
    );
  }
  return pathToFileURL(path).href;
}

function packageNameOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

/**
 * Resolves a package specifier from `cwd` as `import()` in a module there would. `require`
 * resolution covers most packages; ESM-only packages whose `exports` offer only an `import`
 * condition are resolved by reading their `exports` with the ESM conditions.
 */
function resolvePackageEntry(specifier: string, cwd: string): string | undefined {
  // node:module is loaded only here, when a package name is given: every exec would pay for it.
  const { createRequire } = process.getBuiltinModule('node:module');
  const require = createRequire(join(cwd, '__polythene_resolve__.js'));
  try {
    return require.resolve(specifier);
  } catch {
    // fall through to the ESM-only lookup below
  }
  const name = packageNameOf(specifier);
  const subpath = `.${specifier.slice(name.length)}`;
  for (const nodeModules of require.resolve.paths(specifier) ?? []) {
    const packageDir = join(nodeModules, name);
    const manifestPath = join(packageDir, 'package.json');
    if (!existsSync(manifestPath)) continue;
    let manifest: { exports?: unknown; main?: unknown; module?: unknown };
    try {
      manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as typeof manifest;
    } catch {
      return undefined;
    }
    const target =
      manifest.exports === undefined
        ? subpath === '.'
          ? typeof manifest.module === 'string'
            ? manifest.module
            : typeof manifest.main === 'string'
              ? manifest.main
              : 'index.js'
          : subpath
        : selectExportTarget(manifest.exports, subpath);
    if (target === undefined) return undefined;
    const path = resolve(packageDir, target);
    return existsSync(path) ? path : undefined;
  }
  return undefined;
}

const esmConditions = new Set(['import', 'node', 'default']);

function selectExportTarget(exportsField: unknown, subpath: string): string | undefined {
  const isSubpathMap =
    typeof exportsField === 'object' &&
    exportsField !== null &&
    !Array.isArray(exportsField) &&
    Object.keys(exportsField).some((key) => key.startsWith('.'));
  const entry = isSubpathMap
    ? (exportsField as Record<string, unknown>)[subpath]
    : subpath === '.'
      ? exportsField
      : undefined;
  return selectConditionalTarget(entry);
}

function selectConditionalTarget(entry: unknown): string | undefined {
  if (typeof entry === 'string') return entry;
  if (Array.isArray(entry)) {
    for (const item of entry) {
      const target = selectConditionalTarget(item);
      if (target !== undefined) return target;
    }
    return undefined;
  }
  if (typeof entry === 'object' && entry !== null) {
    // Node picks the first condition, in the object's own key order, that it supports.
    for (const [condition, value] of Object.entries(entry)) {
      if (!esmConditions.has(condition)) continue;
      const target = selectConditionalTarget(value);
      if (target !== undefined) return target;
    }
  }
  return undefined;
}

function describeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}
