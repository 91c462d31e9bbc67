import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  type Stats,
} from 'node:fs';
import { isUnmappedOwner } from './is-unmapped-owner.ts';

// Linux's O_PATH (same value on x86_64, arm64, riscv64); Node does not export it.
const O_PATH = 0o10000000;
const DIRECTORY_FLAGS = O_PATH | constants.O_DIRECTORY | constants.O_NOFOLLOW;
const S_ISVTX = 0o1000;
const WRITABLE_BY_OTHERS = 0o022;

/** Options for {@link openPrivateDirectory}. */
export interface OpenPrivateDirectoryOptions {
  /** Create missing directories (mode 0700) on the way; default false. */
  readonly create?: boolean;
  /** Whose directory it must be; default the effective uid. */
  readonly uid?: number;
}

/** What {@link openPrivateDirectory} found. */
export type PrivateDirectory =
  | {
      /** An `O_PATH` descriptor of the directory; the caller closes it. */
      readonly fd: number;
    }
  | {
      /** Why it was not opened (one line): missing, or someone else could change it. */
      readonly refused: string;
    };

/**
 * Opens the directory `path` (absolute) for private files such as caches, when only user
 * `uid` and root could have put anything there or could change it: no component may be a
 * symlink, every directory above must be owned by root or `uid` and, when others can write
 * it, sticky (like `/tmp`), and the directory itself must be owned by `uid` and writable by no
 * one else. Root running with a `HOME` or `XDG_CACHE_HOME` another user owns (sudo -E) is
 * refused, so it neither reads nor writes nor deletes there.
 *
 * Checked top-down with `lstat` (five `lstat`s cost a fifth of five `open`s, and this runs on
 * every exec): once a directory is known to be changeable only by root and `uid`, no one else
 * can rename or replace what is in it, so each later component is looked up where the
 * previous check left it. The directory itself is then opened `O_NOFOLLOW` and must be the
 * one checked (same device and inode). Address files in it as `/proc/self/fd/<fd>/<name>`
 * with `O_NOFOLLOW`.
 */
export function openPrivateDirectory(
  path: string,
  options: OpenPrivateDirectoryOptions = {},
): PrivateDirectory {
  const uid = options.uid ?? (typeof process.geteuid === 'function' ? process.geteuid() : -1);
  if (!path.startsWith('/')) return { refused: `${path} is not an absolute path` };
  const components = path.split('/').filter((component) => component.length > 0);
  let current = '/';
  let stats: Stats | undefined;
  try {
    for (let index = 0; index <= components.length; index += 1) {
      const name = components[index - 1];
      if (name === '.' || name === '..') return { refused: `${path} is not a normal path` };
      current = name === undefined ? '/' : `${current === '/' ? '' : current}/${name}`;
      stats = lstatSync(current, { throwIfNoEntry: false });
      if (stats === undefined) {
        if (options.create !== true) return { refused: `${current} does not exist` };
        try {
          mkdirSync(current, { mode: 0o700 });
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        }
        stats = lstatSync(current);
      }
      if (stats.isSymbolicLink()) return { refused: `${current} is a symbolic link` };
      if (!stats.isDirectory()) return { refused: `${current} is not a directory` };
      const refused = checkDirectory(current, stats, uid, index === components.length);
      if (refused !== undefined) return { refused };
    }
    const fd = openSync(current, DIRECTORY_FLAGS);
    const opened = fstatSync(fd);
    if (opened.dev !== stats?.dev || opened.ino !== stats.ino) {
      closeSync(fd);
      return { refused: `${current} changed while it was checked` };
    }
    return { fd };
  } catch (error) {
    return { refused: `${current} cannot be opened (${(error as Error).message})` };
  }
}

function checkDirectory(
  path: string,
  stats: Stats,
  uid: number,
  isTarget: boolean,
): string | undefined {
  const mode = (stats.mode & 0o7777).toString(8).padStart(4, '0');
  if (isTarget) {
    if (stats.uid !== uid) return `${path} is owned by uid ${stats.uid}, not uid ${uid}`;
    if ((stats.mode & WRITABLE_BY_OTHERS) !== 0)
      return `${path} is writable by other users (mode ${mode})`;
    return undefined;
  }
  if (stats.uid !== 0 && stats.uid !== uid && !isUnmappedOwner(stats.uid))
    return `${path} is owned by uid ${stats.uid}, who could change what is below it`;
  if ((stats.mode & WRITABLE_BY_OTHERS) !== 0 && (stats.mode & S_ISVTX) === 0)
    return `${path} is writable by other users without the sticky bit (mode ${mode})`;
  return undefined;
}
