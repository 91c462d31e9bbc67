import { accessSync, constants, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';

/** How many ids a box maps: in-box 0 is the caller, 1–65535 its subordinate range. */
const MAPPED_SUBORDINATE_IDS = 65535;
const TOOL_DIRS = ['/usr/bin', '/bin', '/usr/sbin', '/sbin'];

let cached: readonly string[] | null | undefined;

/**
 * The argv prefix that runs a command as uid 0 of a new user namespace mapped the way an
 * unprivileged box is (in-box 0 → the caller, 1–65535 → the caller's `/etc/subuid` and
 * `/etc/subgid` ranges, the map rootless podman uses): util-linux `unshare --map-user=0
 * --map-users=…` (2.38+), which writes the maps through the setuid newuidmap/newgidmap.
 * There the store's files keep the image's ids, stored shifted into the subordinate range,
 * and files of those ids can be extracted, copied and deleted.
 *
 * Undefined for root (its boxes use the identity map, so host ids are in-box ids), for a
 * user without a range of 65535 ids or without newuidmap/newgidmap (such a user's boxes map
 * one id: the `ids` guarantee is lost), and where the namespace cannot be made (user
 * namespaces refused: boxes run through proot): the store then keeps everything owned by the
 * user. Decided once per process, by entering such a namespace once (a few ms).
 */
export function userNamespacePrefix(): readonly string[] | undefined {
  if (cached === undefined) cached = readPrefix() ?? null;
  return cached ?? undefined;
}

function readPrefix(): readonly string[] | undefined {
  const uid = process.geteuid?.() ?? 0;
  if (uid === 0) return undefined;
  let name = String(uid);
  try {
    name = userInfo().username;
  } catch {
    // No passwd entry: /etc/subuid may still name the uid.
  }
  const subuid = readRangeStart('/etc/subuid', name, uid);
  const subgid = readRangeStart('/etc/subgid', name, uid);
  if (subuid === undefined || subgid === undefined) return undefined;
  const unshare = findTool('unshare');
  if (unshare === undefined || findTool('newuidmap') === undefined) return undefined;
  if (findTool('newgidmap') === undefined) return undefined;
  const prefix = [
    unshare,
    '--map-user=0',
    '--map-group=0',
    `--map-users=${subuid},1,${MAPPED_SUBORDINATE_IDS}`,
    `--map-groups=${subgid},1,${MAPPED_SUBORDINATE_IDS}`,
    '--',
  ];
  return canEnter(prefix) ? prefix : undefined;
}

// A host that refuses unprivileged user namespaces (a CI runner's AppArmor policy, a
// max_user_namespaces of 0) runs boxes through proot, which maps nothing: the store then
// keeps files as the caller's, as before, instead of failing every pull. Loaded here, not
// at the top: exec's fast path never loads node:child_process.
function canEnter(prefix: readonly string[]): boolean {
  const { spawnSync } = process.getBuiltinModule('node:child_process');
  const [file = 'unshare', ...args] = [...prefix, 'true'];
  const tried = spawnSync(file, args, { stdio: 'ignore', timeout: 10_000 });
  return tried.status === 0;
}

// The first range of the user (by name or uid) that holds 65535 ids: the one the box maps.
function readRangeStart(file: string, name: string, uid: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const [owner, startText, countText] = line.trim().split(':');
    if (owner !== name && owner !== String(uid)) continue;
    const start = Number(startText);
    const count = Number(countText);
    if (!Number.isSafeInteger(start) || start < 0 || !Number.isSafeInteger(count)) continue;
    if (count >= MAPPED_SUBORDINATE_IDS) return start;
  }
  return undefined;
}

// Looked up in the system directories only: a caller's PATH may lack /usr/sbin, and a
// directory on PATH the caller controls must not supply the tool that maps its ids.
function findTool(name: string): string | undefined {
  for (const dir of TOOL_DIRS) {
    try {
      accessSync(`${dir}/${name}`, constants.X_OK);
      return `${dir}/${name}`;
    } catch {
      // Not here.
    }
  }
  return undefined;
}
