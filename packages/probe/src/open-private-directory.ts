import { closeSync, constants, fstatSync, mkdirSync, openSync, type Stats } from 'node:fs';

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
 * `uid` and root could have put anything there or could change it: walking from `/` one
 * directory at a time (each opened `O_NOFOLLOW` below the previous descriptor, through
 * `/proc/self/fd`, so nothing can be swapped in between), no component may be a symlink,
 * every directory above must be owned by root or `uid` and, when others can write it,
 * sticky (like `/tmp`), and the directory itself must be owned by `uid` and writable by no
 * one else. Root running with a `HOME` or `XDG_CACHE_HOME` another user owns (sudo -E) is
 * refused, so it neither reads nor writes nor deletes there. Address files in it as
 * `/proc/self/fd/<fd>/<name>` with `O_NOFOLLOW`.
 */
export function openPrivateDirectory(
  path: string,
  options: OpenPrivateDirectoryOptions = {},
): PrivateDirectory {
  const uid = options.uid ?? (typeof process.geteuid === 'function' ? process.geteuid() : -1);
  if (!path.startsWith('/')) return { refused: `${path} is not an absolute path` };
  const components = path.split('/').filter((component) => component.length > 0);
  let fd: number;
  try {
    fd = openSync('/', DIRECTORY_FLAGS);
  } catch (error) {
    return { refused: `/ cannot be opened (${(error as Error).message})` };
  }
  let current = '/';
  try {
    for (let index = 0; ; index += 1) {
      const refused = checkDirectory(current, fstatSync(fd), uid, index === components.length);
      if (refused !== undefined) {
        closeSync(fd);
        return { refused };
      }
      const name = components[index];
      if (name === undefined) return { fd };
      const next = openChild(fd, name, options.create === true);
      current = `${current === '/' ? '' : current}/${name}`;
      closeSync(fd);
      if (typeof next === 'string') return { refused: `${current} ${next}` };
      fd = next;
    }
  } catch (error) {
    closeSync(fd);
    return { refused: `${current} cannot be opened (${(error as Error).message})` };
  }
}

function openChild(parentFd: number, name: string, create: boolean): number | string {
  if (name === '.' || name === '..') return 'is not a plain directory name';
  const childPath = `/proc/self/fd/${parentFd}/${name}`;
  try {
    return openSync(childPath, DIRECTORY_FLAGS);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return 'is a symbolic link';
    if (code === 'ENOTDIR') return 'is not a directory';
    if (code !== 'ENOENT') throw error;
    if (!create) return 'does not exist';
  }
  try {
    mkdirSync(childPath, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return openChild(parentFd, name, false);
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
  if (stats.uid !== 0 && stats.uid !== uid)
    return `${path} is owned by uid ${stats.uid}, who could change what is below it`;
  if ((stats.mode & WRITABLE_BY_OTHERS) !== 0 && (stats.mode & S_ISVTX) === 0)
    return `${path} is writable by other users without the sticky bit (mode ${mode})`;
  return undefined;
}
