import { readFileSync } from 'node:fs';

// The names of run cgroups: which polythene process owns one.

/** Every run cgroup's name starts with this, then the owner's pid and start time. */
export const RUN_CGROUP_PREFIX = 'polythene-';

let ownStamp: string | undefined;

/**
 * `polythene-PID-STARTTIME`: names the polythene process that owns a run cgroup, so a later
 * run can tell a cgroup whose owner is gone (SIGKILLed) from one in use, even after the pid
 * was reused.
 */
export function ownerStamp(): string {
  ownStamp ??= `${RUN_CGROUP_PREFIX}${process.pid}-${readStartTime(process.pid) ?? 0}`;
  return ownStamp;
}

/** Field 22 of `/proc/PID/stat`: start time in clock ticks since boot; undefined when gone. */
export function readStartTime(pid: number): string | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
