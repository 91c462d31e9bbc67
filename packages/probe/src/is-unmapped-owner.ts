import { readFileSync } from 'node:fs';

// The same rule as @polythene/store's is-unmapped-owner.ts (the probe does not depend on the store).

let unmappedUid: number | null | undefined;

/**
 * True when `uid` is the kernel's overflow uid (usually 65534) and this process runs in a
 * user namespace other than the initial one: there, files of ids the namespace does not map
 * (the host's root among them, owner of `/`) all show that uid. Such a directory is treated
 * like root's: no one inside the namespace can change it without being its owner. Read once
 * per process, only when a directory shows that owner.
 */
export function isUnmappedOwner(uid: number): boolean {
  if (unmappedUid === undefined) {
    try {
      const map = readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/);
      const isInitial =
        map.length === 3 && map[0] === '0' && map[1] === '0' && map[2] === '4294967295';
      unmappedUid = isInitial
        ? null
        : Number(readFileSync('/proc/sys/kernel/overflowuid', 'utf8').trim());
    } catch {
      unmappedUid = null;
    }
  }
  return unmappedUid !== null && uid === unmappedUid;
}
