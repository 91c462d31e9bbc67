import { userNamespacePrefix } from './user-namespace-prefix.ts';

/**
 * Removes `path` (a directory of this user's store, already checked not to be a symlink)
 * from inside a user namespace where this user is root and its `/etc/subuid`/`/etc/subgid`
 * ranges are mapped ({@link userNamespacePrefix}), as rootless podman's `podman unshare rm
 * -rf` does: there, files of the image's ids and files a box made as a subordinate id can be
 * deleted. Resolves true when the tree is gone, false when there is no range, no tool, or
 * `rm` failed.
 */
export async function removeTreeInUserNamespace(path: string): Promise<boolean> {
  const prefix = userNamespacePrefix();
  if (prefix === undefined) return false;
  const [file = 'unshare', ...args] = [...prefix, 'rm', '-rf', '--one-file-system', '--', path];
  // Loaded here, not at the top: every exec loads the store, few remove a tree (and exec's
  // fast path never loads node:child_process).
  const { execFile } = process.getBuiltinModule('node:child_process');
  return new Promise((resolve) => {
    execFile(file, args, { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } }, (error) =>
      resolve(error === null),
    );
  });
}
