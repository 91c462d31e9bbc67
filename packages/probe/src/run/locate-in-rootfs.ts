import { lstatSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

const maxSymlinks = 40;

/**
 * Resolves an absolute path inside `rootfs` as the kernel would after a chroot: absolute
 * symlinks start again at the rootfs, `..` never climbs above it. Returns the host path of the
 * deepest existing point plus the components still missing (empty when it all exists), so a
 * caller can create a mount target without ever following a link out of the rootfs.
 */
export function locateInRootfs(
  rootfs: string,
  path: string,
): { readonly hostPath: string; readonly missing: readonly string[] } {
  const pending = path.split('/').filter((part) => part !== '' && part !== '.');
  const resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const hostPath = join(rootfs, ...resolved, part);
    let isLink = false;
    try {
      isLink = lstatSync(hostPath).isSymbolicLink();
    } catch {
      return {
        hostPath: join(rootfs, ...resolved),
        missing: [part, ...pending].filter((p) => p !== '..'),
      };
    }
    if (!isLink) {
      resolved.push(part);
      continue;
    }
    links += 1;
    if (links > maxSymlinks) throw new Error(`too many levels of symbolic links resolving ${path}`);
    const target = readlinkSync(hostPath);
    if (target.startsWith('/')) resolved.length = 0;
    pending.unshift(...target.split('/').filter((p) => p !== '' && p !== '.'));
  }
  return { hostPath: join(rootfs, ...resolved), missing: [] };
}
