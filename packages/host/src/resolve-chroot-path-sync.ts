import { lstatSync, readlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  type ChrootPathResolution,
  type PathKind,
  type WalkChrootPathOptions,
  walkChrootPath,
} from './walk-chroot-path.ts';

/** Where {@link resolveChrootPathSync} found a path inside a plain rootfs directory. */
export interface RootfsPathResolution extends ChrootPathResolution {
  /** The absolute, normalised rootfs the components are below. */
  root: string;
  /** Host path of the deepest existing point: the root joined with the existing components. */
  existingHostPath: string;
  /** Host path of the whole resolved path (may not exist): `existingHostPath` plus the missing components. */
  hostPath: string;
  /** The components from `missingFrom` on (empty when the whole path exists). */
  missing: string[];
}

/**
 * Resolves `path` inside the directory `rootfs` as a process chrooted there would (see
 * `walkChrootPath`), with synchronous `lstat`/`readlink` calls: a handful of them finish
 * faster than trips through the thread pool, and commands resolve paths on every exec.
 * ENOENT and ENOTDIR make a component missing; any other error is thrown.
 *
 * The answer is only as stable as the tree: do not use it to make security decisions about
 * a rootfs that untrusted code may be changing at the same time.
 */
export function resolveChrootPathSync(
  rootfs: string,
  path: string,
  options: WalkChrootPathOptions = {},
): RootfsPathResolution {
  const root = resolve(rootfs);
  const walk = walkChrootPath(path, options);
  let step = walk.next();
  while (!step.done) {
    const hostPath = hostPathOf(root, step.value.components);
    step = walk.next(step.value.op === 'readlink' ? readlinkSync(hostPath) : kindOf(hostPath));
  }
  const { components, missingFrom } = step.value;
  return {
    root,
    components,
    missingFrom,
    existingHostPath: hostPathOf(root, components.slice(0, missingFrom)),
    hostPath: hostPathOf(root, components),
    missing: components.slice(missingFrom),
  };
}

function kindOf(hostPath: string): PathKind {
  try {
    return lstatSync(hostPath).isSymbolicLink() ? 'symlink' : 'present';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
    throw error;
  }
}

// `join(root, ...components)` without its normalising pass: `root` is absolute and normal, and
// the components are plain names (never empty, `.` or `..`), so joining them with `/` is the
// same path, at a fraction of the cost on a path every exec resolves a few times.
function hostPathOf(root: string, components: readonly string[]): string {
  const inside = components.join('/');
  if (inside === '') return root;
  return root.endsWith('/') ? `${root}${inside}` : `${root}/${inside}`;
}
