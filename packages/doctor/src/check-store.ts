import { accessSync, constants, statfsSync, statSync } from 'node:fs';
import type { DoctorCheck, DoctorUser } from './doctor-types.ts';

// statfs(2) magic numbers of the filesystems a store is likely to be on.
const FILESYSTEM_NAMES = new Map<number, string>([
  [0xef53, 'ext4'],
  [0x58465342, 'xfs'],
  [0x9123683e, 'btrfs'],
  [0x01021994, 'tmpfs'],
  [0x794c7630, 'overlay'],
  [0x6969, 'nfs'],
  [0x2fc12fc1, 'zfs'],
  [0xf2f52010, 'f2fs'],
  [0x65735546, 'fuse'],
]);

// An overlay's upper and work directories cannot live on these (the kernel refuses them), so
// overlay clones and ephemeral runs fall back to full copies there.
const NO_OVERLAY_UPPER = new Set(['overlay', 'nfs', 'fuse']);

/** Formats a byte count the way `df -h` does. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'K', 'M', 'G', 'T'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 && unit > 0 ? 1 : 0)}${units[unit]}`;
}

const group = 'store' as const;

/**
 * The store: where it is, whether this user owns it privately, free space, and whether its
 * filesystem can hold overlay layers. A store another user owns or can write is refused.
 */
export function checkStore(path: string, user: DoctorUser): DoctorCheck[] {
  let stats: ReturnType<typeof statSync>;
  try {
    stats = statSync(path);
  } catch {
    return [
      {
        id: 'store.path',
        group,
        title: 'store',
        state: 'info',
        detail: `${path} (not created yet: the first pull makes it, 0700)`,
      },
    ];
  }
  const mode = Number(stats.mode) & 0o7777;
  const checks: DoctorCheck[] = [];
  const ownedBySomeoneElse = Number(stats.uid) !== user.uid;
  const writableByOthers = (mode & 0o022) !== 0;
  checks.push(
    ownedBySomeoneElse || writableByOthers
      ? {
          id: 'store.path',
          group,
          title: 'store',
          state: 'fail',
          detail: `${path}: owner uid ${stats.uid}, mode ${mode.toString(8).padStart(4, '0')}: ${ownedBySomeoneElse ? 'owned by another user' : 'writable by other users'}, so polythene refuses it`,
          fix: {
            summary: ownedBySomeoneElse ? 'use a store of your own' : 'make the store private',
            commands: ownedBySomeoneElse
              ? ['export POLYTHENE_STORE="$HOME/.local/share/polythene"   # or --store DIR']
              : [`chmod 0700 ${path}`],
          },
        }
      : {
          id: 'store.path',
          group,
          title: 'store',
          state: 'ok',
          detail: `${path}: yours, mode ${mode.toString(8).padStart(4, '0')}`,
        },
  );
  try {
    accessSync(path, constants.W_OK);
  } catch {
    checks.push({
      id: 'store.writable',
      group,
      title: 'store is writable',
      state: 'fail',
      detail: `${path} cannot be written (a read-only filesystem or mode): pull, clone and overlay runs fail`,
      fix: {
        summary: 'use a writable store',
        commands: ['export POLYTHENE_STORE=/var/tmp/polythene-$(id -u)'],
      },
    });
  }
  try {
    const fs = statfsSync(path);
    const name = FILESYSTEM_NAMES.get(Number(fs.type)) ?? `0x${Number(fs.type).toString(16)}`;
    const free = Number(fs.bavail) * Number(fs.bsize);
    checks.push({
      id: 'store.space',
      group,
      title: 'free space',
      state: free < 1024 ** 3 ? 'warn' : 'info',
      detail: `${formatBytes(free)} free`,
      ...(free < 1024 ** 3
        ? {
            fix: {
              summary: 'free space or move the store',
              commands: ['polythene prune --older-than 7d'],
            },
          }
        : {}),
    });
    checks.push(
      NO_OVERLAY_UPPER.has(name)
        ? {
            id: 'store.filesystem',
            group,
            title: 'filesystem',
            state: 'warn',
            detail: `${name}: cannot hold overlay layers, so clones and --ephemeral copy the whole tree`,
            fix: {
              summary: 'put the store on a local disk filesystem',
              commands: ['export POLYTHENE_STORE=/var/tmp/polythene-$(id -u)'],
            },
          }
        : {
            id: 'store.filesystem',
            group,
            title: 'filesystem',
            state: 'ok',
            detail: `${name} (overlay layers possible)`,
          },
    );
  } catch {
    // statfs of a path we could stat does not fail in practice; nothing more to say.
  }
  return checks;
}
