import { readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { readOwnStartTime, readProcessStartTime } from '@polythene/host';
import type { CgroupHierarchies } from './find-cgroup-hierarchies.ts';
import { RUN_CGROUP_PREFIX } from './run-cgroup-name.ts';

/** SIGKILLs every process in a cgroup directory (one pass); never throws. Returns how many it found. */
export function killCgroupProcesses(directory: string): number {
  let text: string;
  try {
    text = readFileSync(`${directory}/cgroup.procs`, 'utf8');
  } catch {
    return 0;
  }
  let found = 0;
  for (const line of text.split('\n')) {
    const pid = Number(line);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) continue;
    found += 1;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  return found;
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
      if (removeCgroupTree(directory)) removed.push(directory);
    }
  }
  return removed;
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Removes a cgroup and the cgroups below it (a run cgroup made while polythene's thread sat
 * in another: an earlier version did that), killing what is in them first. Waits for killed
 * processes to leave, never for a cgroup that had none: it is left for the next sweep.
 */
function removeCgroupTree(directory: string): boolean {
  let children: string[] = [];
  try {
    children = readdirSync(directory, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => `${directory}/${entry.name}`);
  } catch {
    return false;
  }
  if (!children.every((child) => removeCgroupTree(child))) return false;
  for (let attempt = 0; attempt < 20; attempt++) {
    const killed = killCgroupProcesses(directory);
    try {
      rmdirSync(directory);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EBUSY' || killed === 0) return false;
      Atomics.wait(pause, 0, 0, 10);
    }
  }
  return false;
}

function isStale(name: string): boolean {
  const [pid, startTime] = name.slice(RUN_CGROUP_PREFIX.length).split('-');
  if (pid === undefined || startTime === undefined || !/^\d+$/.test(pid)) return false;
  if (Number(pid) === process.pid) return startTime !== readOwnStartTime();
  // An owner that has exited but is not reaped yet (a zombie) is gone too.
  return readProcessStartTime(Number(pid)) !== startTime;
}
