import {
  type BigIntStats,
  closeSync,
  constants,
  lstatSync,
  openSync,
  readdirSync,
  readlinkSync,
} from 'node:fs';
import { pathBeneath } from './open-beneath.ts';
import { errorCode } from './system-error.ts';

/** One path met by {@link scanTree}. */
export interface ScannedPath {
  /** Path relative to the root, `''` for the root itself, `usr/bin` below it. */
  relativePath: string;
  /** Its `lstat`, with nanosecond times. */
  stats: BigIntStats;
  /** The link target, for a symlink. */
  linkTarget?: string;
}

// Synchronous calls on purpose: on a 12k-path rootfs the walk takes ~50 ms with lstatSync
// and ~300 ms with promise lstat (each call pays a libuv thread-pool round trip). The walk
// yields to the event loop every few thousand paths so timers and signals still run.
const PATHS_BETWEEN_YIELDS = 2048;

/**
 * Walks a tree without following symlinks and calls `visit` for every path, the root
 * included (parents before their children). Directories that cannot be read are visited but
 * not entered; paths that vanish meanwhile are skipped. One `lstat` per path plus one
 * `readlink` per symlink.
 *
 * Every directory is entered through a descriptor opened `O_NOFOLLOW` below its parent's
 * (`/proc/self/fd/<fd>/<name>`), and its children are looked at through that descriptor: a
 * command that swaps a directory for a symlink while the tree is walked (a box still running)
 * cannot make the walk list or stat anything outside it. Open descriptors are bounded by the
 * tree's depth.
 */
export async function scanTree(root: string, visit: (path: ScannedPath) => void): Promise<void> {
  const rootStats = lstatSync(root, { bigint: true });
  visit({ relativePath: '', stats: rootStats });
  if (!rootStats.isDirectory()) return;
  const rootFd = openDirectory(root);
  if (rootFd === undefined) return;
  try {
    await walkDirectory(rootFd, '', visit, { sinceYield: 0 });
  } finally {
    closeSync(rootFd);
  }
}

async function walkDirectory(
  dirFd: number,
  dir: string,
  visit: (path: ScannedPath) => void,
  counter: { sinceYield: number },
): Promise<void> {
  let names: string[];
  try {
    names = readdirSync(pathBeneath(dirFd));
  } catch (error) {
    const code = errorCode(error);
    if (code === 'EACCES' || code === 'ENOENT' || code === 'ENOTDIR') return;
    throw error;
  }
  const subdirectories: string[] = [];
  for (const name of names) {
    const relativePath = dir === '' ? name : `${dir}/${name}`;
    const hostPath = pathBeneath(dirFd, name);
    let stats: BigIntStats | undefined;
    try {
      stats = lstatSync(hostPath, { bigint: true, throwIfNoEntry: false });
    } catch {
      // Unreachable: skipped like a vanished path.
    }
    if (stats === undefined) continue;
    if (stats.isSymbolicLink()) {
      let linkTarget: string;
      try {
        linkTarget = readlinkSync(hostPath);
      } catch {
        continue;
      }
      visit({ relativePath, stats, linkTarget });
    } else {
      visit({ relativePath, stats });
      if (stats.isDirectory()) subdirectories.push(name);
    }
    counter.sinceYield += 1;
    if (counter.sinceYield >= PATHS_BETWEEN_YIELDS) {
      counter.sinceYield = 0;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  for (const name of subdirectories) {
    // Swapped for a symlink or a file since it was listed: not entered.
    const childFd = openDirectory(pathBeneath(dirFd, name));
    if (childFd === undefined) continue;
    try {
      await walkDirectory(childFd, dir === '' ? name : `${dir}/${name}`, visit, counter);
    } finally {
      closeSync(childFd);
    }
  }
}

// A descriptor to list the directory at `path` (its last component never followed), or
// undefined when it cannot be read, vanished, or is no longer a directory.
function openDirectory(path: string): number | undefined {
  try {
    return openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'EACCES' || code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP')
      return undefined;
    throw error;
  }
}
