import { readFileSync, writeFileSync } from 'node:fs';
import type { SpawnHooks } from '../backend.ts';
import { type CgroupMount, joinCgroupPath, parseCgroupMounts } from './find-cgroup-hierarchies.ts';
import { RUN_CGROUP_PREFIX } from './run-cgroup-name.ts';

/** Where {@link joinRunCgroupsOf} reads from; the real `/proc` by default (tests). */
export interface ProcessCgroupSources {
  /** `/proc/self/mountinfo`'s text. */
  readonly mountinfo: string;
  /** `/proc/self/cgroup`'s text. */
  readonly ownCgroup: string;
  /** `/proc/PID/cgroup`'s text, for the process whose cgroups are joined. */
  readonly targetCgroup: string;
}

/** One hierarchy where the target's cgroup is a run cgroup other than polythene's own. */
export interface CgroupMove {
  /** The target's cgroup directory (a run cgroup: its limits). */
  readonly target: string;
  /** Polythene's own cgroup directory in that hierarchy, to return to. */
  readonly own: string;
  readonly isV2: boolean;
}

const LIMIT_CONTROLLERS = new Set(['pids', 'memory', 'cpu', 'cpuacct']);

/**
 * The run cgroups (polythene's, named `polythene-…`) that process `pid` is in, per hierarchy
 * that holds a limit (v1 `pids`, `memory`, `cpu`, `cpuacct`; v2's one), where they are not
 * polythene's own. Any other cgroup of the target is never joined.
 */
export function findRunCgroupMoves(pid: number, sources?: ProcessCgroupSources): CgroupMove[] {
  let text: ProcessCgroupSources;
  try {
    text = sources ?? {
      mountinfo: readFileSync('/proc/self/mountinfo', 'utf8'),
      ownCgroup: readFileSync('/proc/self/cgroup', 'utf8'),
      targetCgroup: readFileSync(`/proc/${pid}/cgroup`, 'utf8'),
    };
  } catch {
    return [];
  }
  const mounts = parseCgroupMounts(text.mountinfo);
  const own = parseHierarchies(text.ownCgroup);
  const moves: CgroupMove[] = [];
  for (const [controllers, path] of parseHierarchies(text.targetCgroup)) {
    const ownPath = own.get(controllers);
    if (ownPath === undefined || ownPath === path) continue;
    const names = controllers === '' ? [] : controllers.split(',');
    if (controllers !== '' && !names.some((name) => LIMIT_CONTROLLERS.has(name))) continue;
    if (!(path.split('/').at(-1) ?? '').startsWith(RUN_CGROUP_PREFIX)) continue;
    const mount = findMount(mounts, names);
    if (mount === undefined) continue;
    const target = joinCgroupPath(mount, path);
    const ownDirectory = joinCgroupPath(mount, ownPath);
    if (target === undefined || ownDirectory === undefined) continue;
    moves.push({ target, own: ownDirectory, isV2: mount.isV2 });
  }
  return moves;
}

/**
 * Spawn hooks that start a child in process `pid`'s run cgroups (a command entering a running
 * box then counts against the box's limits), or undefined when it is in none. `before`
 * throws (having moved back) when a cgroup cannot be joined: the limits would not hold.
 */
export function joinRunCgroupsOf(
  pid: number,
  sources?: ProcessCgroupSources,
): SpawnHooks | undefined {
  const moves = findRunCgroupMoves(pid, sources);
  if (moves.length === 0) return undefined;
  const leave = (): void => {
    for (const move of moves) {
      try {
        writeMembership(move.own, move.isV2);
      } catch {
        // Never left it (the join failed first).
      }
    }
  };
  return {
    before: () => {
      try {
        for (const move of moves) writeMembership(move.target, move.isV2);
      } catch (error) {
        leave();
        throw new Error(`cannot join the box's cgroup: ${(error as Error).message}`);
      }
    },
    after: leave,
  };
}

function findMount(
  mounts: readonly CgroupMount[],
  controllers: readonly string[],
): CgroupMount | undefined {
  if (controllers.length === 0) return mounts.find((mount) => mount.isV2);
  return mounts.find(
    (mount) => !mount.isV2 && controllers.every((name) => mount.controllers.includes(name)),
  );
}

/** `/proc/PID/cgroup`: each hierarchy's controllers (`''` for v2) → cgroup path. */
function parseHierarchies(text: string): Map<string, string> {
  const hierarchies = new Map<string, string>();
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    hierarchies.set(line.slice(first + 1, second), line.slice(second + 1));
  }
  return hierarchies;
}

// v1: `tasks` moves only the spawning thread (node's other threads stay out of the box's
// pids count); v2 moves the whole process, as a run's own cgroup does.
function writeMembership(directory: string, isV2: boolean): void {
  writeFileSync(
    `${directory}/${isV2 ? 'cgroup.procs' : 'tasks'}`,
    // v1: `0`, the writing thread itself, moves without the kernel's wait (see run-cgroup.ts).
    isV2 ? String(process.pid) : '0',
  );
}
