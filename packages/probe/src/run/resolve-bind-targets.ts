import { lstatSync } from 'node:fs';
import { posix, relative } from 'node:path';
import { PolytheneError } from '@polythene/errors';
import type { BindMount, RunSpec } from '../backend.ts';
import { locateInRootfs } from './locate-in-rootfs.ts';

// What every backend mounts itself before the binds: their magic links (`/proc/self/root`)
// and device nodes lead to the host, so a bind target must never be inside them unless the
// caller named it so (a device under /dev).
const BACKEND_MOUNTS = ['/proc', '/dev'];

/**
 * Resolves each bind's target inside the root as a chrooted process would (absolute symlinks
 * restart at the rootfs, `..` stops at it) and returns the binds with symlink-free targets, so
 * a backend never lets an image symlink (`/root -> /oldroot/etc`) turn a mount target into a
 * host path. On an overlay root, whose merged view only exists once mounted, a target that
 * passes through a symlink in any layer is refused instead.
 *
 * Throws `POLYTHENE_SETUP_FAILED` (one line, naming the target) for a target that is the root
 * itself, lies in `/proc`, or that an image symlink leads into `/dev` or into an earlier bind
 * (a host directory). The answer holds for the tree as it is now: a command already running
 * in the same root could change it meanwhile.
 */
export function resolveBindTargets(
  spec: Pick<RunSpec, 'rootfs' | 'overlay' | 'binds'>,
  backend: string,
): BindMount[] {
  const fail = (target: string, why: string): never => {
    throw new PolytheneError(
      'POLYTHENE_SETUP_FAILED',
      `${backend}: bind target ${JSON.stringify(target)} ${why}; bind to another path`,
    );
  };
  const resolvedTargets: string[] = [];
  return spec.binds.map((bind) => {
    const literal = posix.normalize(`/${bind.target}`);
    const resolved =
      spec.overlay === undefined
        ? resolveInPlainRoot(spec.rootfs, literal)
        : checkOverlayPath([spec.overlay.upperDir, ...spec.overlay.lowerDirs], literal, (why) =>
            fail(bind.target, why),
          );
    const viaSymlink = resolved !== literal;
    const shown = viaSymlink ? `resolves through an image symlink to ${resolved} and` : '';
    if (resolved === '/') fail(bind.target, `${shown} is the root itself`.trim());
    for (const mount of BACKEND_MOUNTS) {
      const isInside = isAtOrUnder(resolved, mount);
      if (isInside && (viaSymlink || mount === '/proc')) {
        fail(bind.target, `${shown} lies in ${mount}, which the sandbox mounts itself`.trim());
      }
    }
    if (viaSymlink && resolvedTargets.some((earlier) => isStrictlyUnder(resolved, earlier))) {
      fail(bind.target, `${shown} lies inside an earlier bind, a host directory`);
    }
    resolvedTargets.push(resolved);
    return { ...bind, target: resolved };
  });
}

function resolveInPlainRoot(rootfs: string, target: string): string {
  const { hostPath, missing } = locateInRootfs(rootfs, target);
  const inside = relative(rootfs, hostPath);
  return posix.normalize(`/${[inside, ...missing].filter((part) => part !== '').join('/')}`);
}

function checkOverlayPath(
  layers: readonly string[],
  target: string,
  fail: (why: string) => never,
): string {
  const parts = target.split('/').filter((part) => part !== '');
  for (let depth = 1; depth <= parts.length; depth += 1) {
    const prefix = parts.slice(0, depth).join('/');
    for (const layer of layers) {
      let isSymlink = false;
      try {
        isSymlink = lstatSync(`${layer}/${prefix}`).isSymbolicLink();
      } catch {
        // Not in this layer.
      }
      if (isSymlink) {
        fail(`passes through a symlink (/${prefix}) in the overlay root (bind to where it points)`);
      }
    }
  }
  return target;
}

function isAtOrUnder(path: string, dir: string): boolean {
  return path === dir || path.startsWith(`${dir}/`);
}

function isStrictlyUnder(path: string, dir: string): boolean {
  return dir === '/' ? path !== '/' : path.startsWith(`${dir}/`);
}
