import { readOwnStartTime } from '@polythene/host';

// The names of run cgroups: which polythene process owns one.

/** Every run cgroup's name starts with this, then the owner's pid and start time. */
export const RUN_CGROUP_PREFIX = 'polythene-';

/**
 * `polythene-PID-STARTTIME`: names the polythene process that owns a run cgroup, so a later
 * run can tell a cgroup whose owner is gone (SIGKILLed) from one in use, even after the pid
 * was reused. The start time is read once per process (host's readOwnStartTime), and the
 * store's in-use marks use the same read.
 */
export function ownerStamp(): string {
  return `${RUN_CGROUP_PREFIX}${process.pid}-${readOwnStartTime()}`;
}
