import { PolytheneError } from '@polythene/errors';
import type { Backend } from '@polythene/probe';
import type { ModuleImporter } from '../module-importer.ts';

/** The packages of the built-in backends, named when a caller passes none. */
export const BUILTIN_BACKEND_PACKAGES: readonly string[] = [
  '@polythene/backend-bwrap',
  '@polythene/backend-proot',
  '@polythene/backend-chroot',
];

/**
 * What runs a command: the backends, in probe order, that the caller composed. Core ships
 * none; a program installs the backend packages it needs and passes their backends here.
 */
export interface BackendSource {
  /** The backends to choose from, in probe order (e.g. `[createProotBackend()]`). */
  readonly backends?: readonly Backend[];
  /**
   * Imports custom backend modules (`backendModules`, `POLYTHENE_BACKENDS`); defaults to
   * `import()`. The CLI passes its launcher's, since code loaded through its code cache
   * cannot use `import()`.
   */
  readonly importModule?: ModuleImporter;
}

/** The caller's backends; throws `POLYTHENE_NO_BACKEND` naming the packages to add when none. */
export function requireBackends(
  backends: readonly Backend[] | undefined,
  operation: string,
): readonly Backend[] {
  if (backends !== undefined && !Array.isArray(backends)) {
    throw new PolytheneError(
      'POLYTHENE_USAGE',
      `${operation}: backends must be an array of Backend objects, e.g. { backends: [createProotBackend()] }`,
    );
  }
  if (backends === undefined || backends.length === 0) {
    throw new PolytheneError(
      'POLYTHENE_NO_BACKEND',
      `${operation} needs at least one backend: install one of ${BUILTIN_BACKEND_PACKAGES.join(', ')} and pass its backend, e.g. { backends: [createProotBackend()] }`,
    );
  }
  return backends;
}
