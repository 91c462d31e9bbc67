import { resolve } from 'node:path';
import { resolveChrootPathSync } from '@polythene/host';
import { formatUntrusted } from './entry-id.ts';

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
 * Throws `POLYTHENE_USAGE` on a symlink loop (more than 40 links). A thin wrapper over
 * `resolveChrootPathSync` of `@polythene/host`, the one resolver.
 *
 * The answer is only as stable as the tree: do not use it to make security decisions about
 * a rootfs that untrusted code may be changing at the same time.
 */
export async function resolveInRootfs(
  rootfs: string,
  path: string,
  options: ResolveInRootfsOptions = {},
): Promise<string> {
  const root = resolve(rootfs);
  return resolveChrootPathSync(root, path, {
    followFinalSymlink: options.followFinalSymlink ?? true,
    describe: `${formatUntrusted(path)} inside ${root}`,
  }).hostPath;
}
