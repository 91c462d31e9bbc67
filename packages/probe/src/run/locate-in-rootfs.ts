import { resolveChrootPathSync } from '@polythene/host';

/**
 * Resolves an absolute path inside `rootfs` as the kernel would after a chroot: absolute
 * symlinks start again at the rootfs, `..` never climbs above it. Returns the host path of the
 * deepest existing point plus the components still missing (empty when it all exists), so a
 * caller can create a mount target without ever following a link out of the rootfs. Throws a
 * `PolytheneError` (`POLYTHENE_USAGE`) on a symlink loop; resolution is the one of
 * `@polythene/host`.
 */
export function locateInRootfs(
  rootfs: string,
  path: string,
): { readonly hostPath: string; readonly missing: readonly string[] } {
  const found = resolveChrootPathSync(rootfs, path, {
    describe: `${JSON.stringify(path)} inside ${rootfs}`,
  });
  return { hostPath: found.existingHostPath, missing: found.missing };
}
