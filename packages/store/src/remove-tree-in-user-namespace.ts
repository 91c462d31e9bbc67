import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';

/**
 * Removes `path` (a directory of this user's store, already checked not to be a symlink)
 * from inside a user namespace where this user is root and its `/etc/subuid`/`/etc/subgid`
 * ranges are mapped, as rootless podman's `podman unshare rm -rf` does: there, files a box
 * made as a subordinate id can be deleted. util-linux `unshare --map-users` (2.38+) writes
 * the maps through newuidmap/newgidmap. Resolves true when the tree is gone, false when
 * there is no range, no tool, or `rm` failed.
 */
export async function removeTreeInUserNamespace(path: string): Promise<boolean> {
  const uid = process.geteuid?.() ?? 0;
  let name = String(uid);
  try {
    name = userInfo().username;
  } catch {
    // No passwd entry: the files may still name the uid.
  }
  const subuid = readRange('/etc/subuid', name, uid);
  const subgid = readRange('/etc/subgid', name, uid);
  if (subuid === undefined || subgid === undefined) return false;
  const args = [
    `--map-user=0`,
    `--map-group=0`,
    `--map-users=${subuid.start},1,${subuid.count}`,
    `--map-groups=${subgid.start},1,${subgid.count}`,
    '--',
    'rm',
    '-rf',
    '--one-file-system',
    '--',
    path,
  ];
  // Loaded here, not at the top: every exec loads the store, few remove a tree (and exec's
  // fast path never loads node:child_process).
  const { execFile } = process.getBuiltinModule('node:child_process');
  return new Promise((resolve) => {
    execFile('unshare', args, { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } }, (error) =>
      resolve(error === null),
    );
  });
}

function readRange(
  file: string,
  name: string,
  uid: number,
): { start: number; count: number } | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const [owner, start, count] = line.trim().split(':');
    if (owner !== name && owner !== String(uid)) continue;
    const range = { start: Number(start), count: Math.min(Number(count), 65535) };
    if (Number.isSafeInteger(range.start) && range.count > 0) return range;
  }
  return undefined;
}
