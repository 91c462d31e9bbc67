import { BUILTIN_BACKEND_PACKAGES } from '@polythene/core';
import { PolytheneError } from '@polythene/errors';
import type { Backend } from '@polythene/probe';

// The built-in backend packages are optional peer dependencies of the testkit: a project
// installs the ones it needs, and the testkit uses whichever are there. Named one by one so
// that bundlers and `node_modules` resolution see plain specifiers.
const IMPORTERS: readonly (() => Promise<Backend>)[] = [
  async () => (await import('@polythene/backend-bwrap')).createBwrapBackend(),
  async () => (await import('@polythene/backend-proot')).createProotBackend(),
  async () => (await import('@polythene/backend-chroot')).createChrootBackend(),
];

let installed: Promise<readonly Backend[]> | undefined;

/**
 * The backends boxes run with: `passed` when given (`polythene.image(ref, { backends })`),
 * else every built-in backend package installed next to the testkit, in the default probe
 * order. None: a `POLYTHENE_NO_BACKEND` naming the packages to add.
 */
export async function findBackends(passed?: readonly Backend[]): Promise<readonly Backend[]> {
  if (passed !== undefined) {
    if (!Array.isArray(passed) || passed.length === 0) {
      throw new PolytheneError(
        'POLYTHENE_USAGE',
        'polythene.image(ref, { backends }): backends must be a non-empty array, e.g. [createProotBackend()] from @polythene/backend-proot',
      );
    }
    return passed;
  }
  installed ??= findInstalledBackends();
  const backends = await installed;
  if (backends.length === 0) {
    throw new PolytheneError(
      'POLYTHENE_NO_BACKEND',
      `the testkit found no backend package: add one or more of ${BUILTIN_BACKEND_PACKAGES.join(', ')} to your devDependencies, or pass polythene.image(ref, { backends })`,
    );
  }
  return backends;
}

async function findInstalledBackends(): Promise<readonly Backend[]> {
  const backends: Backend[] = [];
  for (const [index, importBackend] of IMPORTERS.entries()) {
    try {
      backends.push(await importBackend());
    } catch (error) {
      // Not installed is expected; a package that is there but fails to load is not.
      if (!isMissingPackage(error, BUILTIN_BACKEND_PACKAGES[index] ?? '')) throw error;
    }
  }
  return backends;
}

function isMissingPackage(error: unknown, name: string): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return (
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
    typeof message === 'string' &&
    message.includes(name)
  );
}
