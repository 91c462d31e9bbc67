import { lstatSync, readlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import { PolytheneError } from '@polythene/errors';
import { formatUntrusted } from './entry-id.ts';
import { errorCode } from './system-error.ts';

// Linux's limit on symlinks followed while resolving one path (MAXSYMLINKS).
const MAX_SYMLINKS = 40;

/** Options for {@link resolveInRootfs}. */
export interface ResolveInRootfsOptions {
  /** Follow a symlink in the last component too (default true); false resolves like `lstat`. */
  followFinalSymlink?: boolean;
}

/**
 * Resolves `path` as a process chrooted at `rootfs` would: absolute symlinks restart at
 * `rootfs`, relative ones at their directory, and `..` never climbs above `rootfs`. Returns
 * the host path, always inside `rootfs`; components from the first missing one on are joined
 * as written (so the result may not exist). A relative `path` is taken from the root.
 * Throws `POLYTHENE_USAGE` on a symlink loop (more than 40 links).
 *
 * The lookups are synchronous: a handful of lstat calls finish faster than trips through the
 * thread pool, and commands resolve paths on every exec.
 *
 * The answer is only as stable as the tree: do not use it to make security decisions about
 * a rootfs that untrusted code may be changing at the same time.
 */
export async function resolveInRootfs(
  rootfs: string,
  path: string,
  options: ResolveInRootfsOptions = {},
): Promise<string> {
  const followFinalSymlink = options.followFinalSymlink ?? true;
  const root = resolve(rootfs);
  const resolved: string[] = [];
  const remaining = splitPath(path);
  let linksFollowed = 0;
  let isMissing = false;
  while (remaining.length > 0) {
    const component = remaining.shift() as string;
    if (component === '.') continue;
    if (component === '..') {
      resolved.pop();
      continue;
    }
    if (isMissing) {
      resolved.push(component);
      continue;
    }
    const hostPath = hostPathOf(root, resolved, component);
    const isLast = remaining.length === 0;
    let isSymlink = false;
    try {
      isSymlink = lstatSync(hostPath).isSymbolicLink();
    } catch (error) {
      const code = errorCode(error);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
      isMissing = true;
    }
    if (!isSymlink || (isLast && !followFinalSymlink)) {
      resolved.push(component);
      continue;
    }
    linksFollowed += 1;
    if (linksFollowed > MAX_SYMLINKS) {
      throw new PolytheneError(
        'POLYTHENE_USAGE',
        `cannot resolve ${formatUntrusted(path)} inside ${root}: too many levels of symbolic links (a symlink loop in the image); fix or remove the looping link`,
        { cause: Object.assign(new Error('ELOOP'), { code: 'ELOOP' }) },
      );
    }
    const target = readlinkSync(hostPath);
    if (target.startsWith('/')) resolved.length = 0;
    remaining.unshift(...splitPath(target));
  }
  return hostPathOf(root, resolved);
}

// `join(root, ...components)` without its normalising pass: `root` is absolute and normal, and
// the components are plain names (never empty, `.` or `..`), so joining them with `/` is the
// same path, at a fraction of the cost on a path every exec resolves a few times.
function hostPathOf(root: string, components: readonly string[], last?: string): string {
  const inside = last === undefined ? components.join('/') : [...components, last].join('/');
  if (inside === '') return root;
  return root.endsWith('/') ? `${root}${inside}` : `${root}/${inside}`;
}

function splitPath(path: string): string[] {
  return path.split('/').filter((component) => component.length > 0);
}
