import { constants, existsSync, promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { resolve } from 'node:path';
import { PolytheneError } from '@polythene/errors';
import { removeTreeInUserNamespace } from './remove-tree-in-user-namespace.ts';
import { describeError, errorCode } from './system-error.ts';

// Linux's O_PATH (same value on x86_64, arm64, riscv64); Node does not export it. It opens a
// directory we may not read, without following a final symlink, so we can chmod that exact
// inode through /proc/self/fd.
const O_PATH = 0o10000000;
const OPEN_DIRECTORY_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
// Files are unlinked in parallel batches (the libuv pool runs 4 at once); directories one at
// a time so open descriptors stay bounded by the tree's depth.
const FILE_BATCH_SIZE = 32;
// Entries are addressed through /proc/self/fd/N/<name>: like unlinkat(2) relative to the
// directory we opened, so a directory swapped for a symlink mid-walk cannot lead us out.
// Checked on first use, not when the module loads: every exec loads it, few remove a tree.
let procFdSupport: boolean | undefined;
const hasProcFd = (): boolean => {
  procFdSupport ??= process.platform === 'linux' && existsSync('/proc/self/fd');
  return procFdSupport;
};
const isRoot = process.getuid?.() === 0;

/**
 * Deletes `path` and everything below it, as root or as an unprivileged owner: directories
 * that lack owner write/search permission (read-only image trees, mode 0555 or 0000) are
 * made writable before they are emptied. Symlinks are removed, never followed, and the walk
 * never leaves the tree even if it changes underneath. A missing path is not an error.
 * Throws `POLYTHENE_USAGE` when `path` itself is a symlink and `POLYTHENE_STORE_UNAVAILABLE`
 * when something cannot be deleted.
 */
export async function removeTree(path: string): Promise<void> {
  const absolutePath = resolve(path);
  const stats = await fs.lstat(absolutePath).catch(ignoreMissing);
  if (stats === undefined) return;
  if (stats.isSymbolicLink()) {
    throw new PolytheneError(
      'POLYTHENE_USAGE',
      `refusing to delete ${absolutePath}: it is a symbolic link, not a directory tree; remove the link itself with rm`,
    );
  }
  try {
    if (stats.isDirectory()) await removeDirectoryTree(absolutePath);
    else await fs.unlink(absolutePath).catch(ignoreMissing);
  } catch (error) {
    // Files a box made as a subordinate id: removable as root of the user's own namespace.
    const code = errorCode(error);
    if (!isRoot && stats.isDirectory() && (code === 'EACCES' || code === 'EPERM')) {
      if (await removeTreeInUserNamespace(absolutePath)) return;
    }
    throw new PolytheneError(
      'POLYTHENE_STORE_UNAVAILABLE',
      `could not delete ${absolutePath}: ${describeError(error)}; files owned by another user need that user or root to remove them (files of your subordinate ids: \`podman unshare rm -rf ${absolutePath}\`)`,
      { cause: error },
    );
  }
}

async function removeDirectoryTree(path: string): Promise<void> {
  const handle = await openDirectoryNoFollow(path);
  if (handle === 'missing') return;
  if (handle === 'not-directory') {
    // Replaced by a file or symlink since it was listed: unlink removes the link itself.
    await fs.unlink(path).catch(ignoreMissing);
    return;
  }
  try {
    const ref = hasProcFd() ? `/proc/self/fd/${handle.fd}` : path;
    const entries = await fs.readdir(ref, { withFileTypes: true });
    const files = entries.filter((entry) => !entry.isDirectory());
    for (let start = 0; start < files.length; start += FILE_BATCH_SIZE) {
      const batch = files.slice(start, start + FILE_BATCH_SIZE);
      await Promise.all(batch.map((entry) => removeNonDirectory(`${ref}/${entry.name}`)));
    }
    for (const entry of entries) {
      if (entry.isDirectory()) await removeDirectoryTree(`${ref}/${entry.name}`);
    }
  } finally {
    await handle.close();
  }
  await fs.rmdir(path).catch(ignoreMissing);
}

async function removeNonDirectory(path: string): Promise<void> {
  try {
    await fs.unlink(path);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT') return;
    // Became a directory since it was listed.
    if (code === 'EISDIR' || code === 'EPERM') {
      const stats = await fs.lstat(path).catch(ignoreMissing);
      if (stats?.isDirectory()) return removeDirectoryTree(path);
    }
    throw error;
  }
}

async function openDirectoryNoFollow(
  path: string,
): Promise<FileHandle | 'missing' | 'not-directory'> {
  let handle: FileHandle;
  try {
    handle = await fs.open(path, OPEN_DIRECTORY_FLAGS);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT') return 'missing';
    if (code === 'ENOTDIR' || code === 'ELOOP') return 'not-directory';
    if (code !== 'EACCES') throw error;
    // We cannot read it (mode 0000 or 0111): give the owner rwx on that very inode, then retry.
    const granted = await grantOwnerAccess(path);
    if (granted !== 'ok') return granted;
    handle = await fs.open(path, OPEN_DIRECTORY_FLAGS);
  }
  if (!isRoot) {
    // Unlinking entries needs write and search permission on the directory itself.
    const stats = await handle.stat();
    if ((stats.mode & 0o300) !== 0o300)
      await handle.chmod((stats.mode & 0o7777) | 0o700).catch(() => undefined);
  }
  return handle;
}

async function grantOwnerAccess(path: string): Promise<'ok' | 'missing' | 'not-directory'> {
  if (!hasProcFd()) {
    const stats = await fs.lstat(path).catch(ignoreMissing);
    if (stats === undefined) return 'missing';
    if (!stats.isDirectory()) return 'not-directory';
    await fs.chmod(path, (stats.mode & 0o7777) | 0o700);
    return 'ok';
  }
  let pathHandle: FileHandle;
  try {
    pathHandle = await fs.open(path, O_PATH | constants.O_NOFOLLOW | constants.O_DIRECTORY);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT') return 'missing';
    if (code === 'ENOTDIR' || code === 'ELOOP') return 'not-directory';
    throw error;
  }
  try {
    const stats = await pathHandle.stat();
    await fs.chmod(`/proc/self/fd/${pathHandle.fd}`, (stats.mode & 0o7777) | 0o700);
    return 'ok';
  } finally {
    await pathHandle.close();
  }
}

function ignoreMissing(error: unknown): undefined {
  if (errorCode(error) === 'ENOENT') return undefined;
  throw error;
}
