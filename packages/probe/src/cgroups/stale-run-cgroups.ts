import { readdirSync, readFileSync, rmdirSync } from 'node:fs';
import type { CgroupHierarchies } from './find-cgroup-hierarchies.ts';

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
function readStartTime(pid: number): string | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** SIGKILLs every process in a cgroup directory (one pass); never throws. */
export function killCgroupProcesses(directory: string): void {
  let text: string;
  try {
    text = readFileSync(`${directory}/cgroup.procs`, 'utf8');
  } catch {
    return;
  }
  for (const line of text.split('\n')) {
    const pid = Number(line);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/**
 * Removes run cgroups whose polythene is gone (SIGKILLed before it could remove them),
 * killing what is left in them first. Returns the directories removed. Never throws: a
 * cgroup still busy is left for the next sweep.
 */
export function sweepStaleRunCgroups(hierarchies: CgroupHierarchies): string[] {
  const parents = new Set(Object.values(hierarchies.parents));
  if (hierarchies.cpuacctParent !== undefined) parents.add(hierarchies.cpuacctParent);
  const removed: string[] = [];
  for (const parent of parents) {
    let names: string[];
    try {
      names = readdirSync(parent);
    } catch {
      continue;
    }
    for (const name of names) {
      if (!name.startsWith(RUN_CGROUP_PREFIX) || !isStale(name)) continue;
      const directory = `${parent}/${name}`;
      for (let attempt = 0; attempt < 20; attempt++) {
        killCgroupProcesses(directory);
        try {
          rmdirSync(directory);
          removed.push(directory);
          break;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EBUSY') break;
          Atomics.wait(pause, 0, 0, 10);
        }
      }
    }
  }
  return removed;
}

const pause = new Int32Array(new SharedArrayBuffer(4));

function isStale(name: string): boolean {
  const [pid, startTime] = name.slice(RUN_CGROUP_PREFIX.length).split('-');
  if (pid === undefined || startTime === undefined || !/^\d+$/.test(pid)) return false;
  if (Number(pid) === process.pid) return startTime !== readStartTime(process.pid);
  return readStartTime(Number(pid)) !== startTime;
}
