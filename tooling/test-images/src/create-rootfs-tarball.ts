import { execa } from 'execa';

/** Fixed mtime for every tar member, so the same tree gives the same layer digest. */
const fixedMtime = '@1704067200';

/** Options for {@link createRootfsTarball}. */
export interface CreateRootfsTarballOptions {
  /** Paths relative to the rootfs (`home/app`) whose directory entry is owned by 1000:1000. */
  readonly appOwnedDirs?: readonly string[];
}

/**
 * Writes `rootfsDir` as a tarball for `podman import`, owned by root (numeric, so it works the
 * same when a non-root user built the tree), except the directory entries listed in
 * `appOwnedDirs`, which belong to uid/gid 1000 like the image's `app` user.
 */
export async function createRootfsTarball(
  rootfsDir: string,
  tarballPath: string,
  options: CreateRootfsTarballOptions = {},
): Promise<void> {
  const appOwnedDirs = options.appOwnedDirs ?? [];
  const common = ['--directory', rootfsDir, '--numeric-owner', `--mtime=${fixedMtime}`];
  await execa(
    'tar',
    [
      '--create',
      '--file',
      tarballPath,
      ...common,
      '--sort=name',
      '--owner=0',
      '--group=0',
      ...appOwnedDirs.map((dir) => `--exclude=./${dir}`),
      '.',
    ],
    { stdin: 'ignore' },
  );
  if (appOwnedDirs.length === 0) return;
  // Appended after the rest, so their parents already exist when podman applies the layer.
  await execa(
    'tar',
    [
      '--append',
      '--file',
      tarballPath,
      ...common,
      '--owner=1000',
      '--group=1000',
      '--no-recursion',
      ...appOwnedDirs.map((dir) => `./${dir}`),
    ],
    { stdin: 'ignore' },
  );
}
