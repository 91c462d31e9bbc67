import { closeSync, constants, openSync } from 'node:fs';
import { PolytheneError } from '@polythene/errors';
import { errorCode } from './system-error.ts';

/**
 * Linux's O_PATH (same value on x86_64, arm64, riscv64); Node does not export it. An O_PATH
 * descriptor of a directory needs only search permission and serves as the base of
 * {@link pathBeneath} lookups.
 */
export const O_PATH = 0o10000000;

const DIRECTORY_FLAGS = O_PATH | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/**
 * The path that names `name` inside the directory open as `dirFd` (or the directory itself):
 * `/proc/self/fd/<dirFd>/<name>`. The kernel jumps straight to the open directory (the magic
 * link is not resolved by name), so a parent renamed or swapped for a symlink meanwhile cannot
 * redirect the lookup: the equivalent of the `*at(2)` calls Node lacks. Only `name` itself
 * is resolved; pass `O_NOFOLLOW` (or use `lstat`, `unlink`, `mkdir`, `readlink`) so a symlink
 * there is not followed either.
 */
export function pathBeneath(dirFd: number, name?: string): string {
  if (name === undefined) return `/proc/self/fd/${dirFd}`;
  assertPlainName(name);
  return `/proc/self/fd/${dirFd}/${name}`;
}

/**
 * Opens the directory at `path` with `O_PATH | O_DIRECTORY | O_NOFOLLOW` and returns its
 * descriptor: a symlink or non-directory at `path` itself is refused (`ELOOP`/`ENOTDIR` as
 * a system error). The caller closes it.
 */
export function openDirectoryNoFollow(path: string): number {
  return openSync(path, DIRECTORY_FLAGS);
}

/**
 * Opens the directory `components` (plain names, no `/`, `.` or `..`) below the directory
 * open as `rootFd`, one component at a time, never following a symlink: a component that is
 * a symlink fails with a system error `ELOOP`, a non-directory with `ENOTDIR`, a missing one
 * with `ENOENT`. Returns a new `O_PATH` descriptor (the caller closes it; `rootFd` stays open).
 * Whatever happens to the tree meanwhile, the result is a directory that was reached from
 * `rootFd` through real directories, never outside it.
 */
export function openDirectoryBeneath(rootFd: number, components: readonly string[]): number {
  let current = rootFd;
  try {
    for (const component of components) {
      const next = openSync(pathBeneath(current, component), DIRECTORY_FLAGS);
      if (current !== rootFd) closeSync(current);
      current = next;
    }
  } catch (error) {
    if (current !== rootFd) closeSync(current);
    throw error;
  }
  // Always a fresh descriptor, so the caller can close it whatever `components` was. The
  // magic link is followed on purpose here: it is the open directory itself.
  return current === rootFd
    ? openSync(pathBeneath(rootFd), O_PATH | constants.O_DIRECTORY)
    : current;
}

/**
 * Opens `components` below the directory open as `rootFd`: every directory on the way as in
 * {@link openDirectoryBeneath}, the last component with `flags | O_NOFOLLOW | O_NONBLOCK`
 * (and `mode` when creating). `O_NONBLOCK` keeps a fifo swapped in from blocking the open;
 * check the type with `fstat` before reading or writing. Returns the descriptor.
 */
export function openBeneath(
  rootFd: number,
  components: readonly string[],
  flags: number,
  mode?: number,
): number {
  const last = components.at(-1);
  if (last === undefined) {
    throw new PolytheneError('POLYTHENE_USAGE', 'openBeneath needs at least one path component');
  }
  const dirFd = openDirectoryBeneath(rootFd, components.slice(0, -1));
  try {
    return openSync(
      pathBeneath(dirFd, last),
      flags | constants.O_NOFOLLOW | constants.O_NONBLOCK,
      mode,
    );
  } finally {
    closeSync(dirFd);
  }
}

/**
 * True for the system errors an O_NOFOLLOW walk gives when the tree changed under it (a
 * directory swapped for a symlink or a file): `ELOOP`, `ENOTDIR`.
 */
export function isSwappedPathError(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'ELOOP' || code === 'ENOTDIR';
}

function assertPlainName(name: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new PolytheneError(
      'POLYTHENE_USAGE',
      `${JSON.stringify(name)} is not a plain file name (no "/", ".", ".." or NUL)`,
    );
  }
}
