import { readFileSync } from 'node:fs';

/** Label on every container Polythene creates; its value is the pull's random token. */
export const pullLabel = 'io.polythene.pull';
/** Label holding the pid of the process that created the container. */
export const ownerPidLabel = 'io.polythene.owner-pid';
/** Label holding the kernel boot id at creation: a pid from an earlier boot is dead. */
export const ownerBootLabel = 'io.polythene.owner-boot';

/** The current kernel boot id, or `unknown` where /proc does not tell. */
export function readBootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}
