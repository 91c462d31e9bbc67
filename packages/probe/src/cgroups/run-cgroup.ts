import { closeSync, mkdirSync, openSync, rmdirSync, write, writeFileSync } from 'node:fs';
import {
  type CgroupHierarchies,
  findCgroupHierarchies,
  type LimitController,
} from './find-cgroup-hierarchies.ts';
import {
  type ResourceLimits,
  type RunCgroupUsage,
  readRunUsage,
  writeLimits,
} from './run-cgroup-files.ts';
import { ownerStamp } from './run-cgroup-name.ts';
import { killCgroupProcesses, sweepStaleRunCgroups } from './stale-run-cgroups.ts';

export type { ResourceLimits, RunCgroupUsage } from './run-cgroup-files.ts';

/**
 * One run's cgroup (one directory per v1 hierarchy, or one v2 directory), with its limits
 * written. Polythene's spawning thread enters it before the backend is spawned, so the
 * child starts in it, and leaves right after. Disposing kills whatever is left in it and
 * removes it.
 *
 * A move of a whole process (v2's `cgroup.procs`), or of another thread, waits for an RCU
 * grace period unless another move happened just before (the kernel's
 * cgroup_threadgroup_rwsem, without v2's `favordynmods`): 8 to 20 ms here. On v1 the
 * spawning thread moves itself (`0` written to `tasks`), which Linux 6.x does without that
 * wait: about 0.15 ms. On v2, made with `movesInBackground` (see {@link RunCgroupOptions}),
 * `enterEarly` makes the pids move from a pool thread while the caller prepares the run and
 * `leave` moves back from one while the command runs; otherwise every move is made on the
 * caller's thread, at the spawn.
 */
export interface RunCgroup {
  /** The cgroup interface that enforces it. */
  readonly version: 'v1' | 'v2';
  /** The limits written into it. */
  readonly limits: ResourceLimits;
  /** The cgroup directories, for tests and verbose logs. */
  readonly directories: readonly string[];
  /**
   * v2 with `movesInBackground`: starts moving polythene's process into the run's cgroup
   * from a pool thread, when only pids are limited there, and resolves once it is in. With
   * memory or CPU limits it is left to `enter`: the process would charge its own
   * allocations and CPU time to the run. Waits for a move under way first, so call it (and
   * await it) before every `enter`; until the next `leave`, calling it again returns the
   * same entry. Rejects with the failing path's error. Otherwise (v1, or without
   * `movesInBackground`) it moves nothing and resolves at once: `enter` makes every move.
   */
  enterEarly(): Promise<void>;
  /** Moves polythene's spawning thread (v1) or process (v2) into the run cgroup. */
  enter(): void;
  /** Moves it back to where it was (with `movesInBackground`, starts to: `dispose` waits). */
  leave(): void;
  /** Reads what the run used and which limit it hit. */
  readUsage(): RunCgroupUsage;
  /** Waits for a move under way, kills what is left in the cgroup and removes it; never rejects. */
  dispose(): Promise<void>;
}

let runCounter = 0;
const pause = new Int32Array(new SharedArrayBuffer(4));

/** How a run cgroup moves polythene's thread. */
export interface RunCgroupOptions {
  /**
   * On v2, move from a pool thread (`enterEarly`, and `leave` in the background; v1 needs
   * no such help, see {@link RunCgroup}). Only for a process
   * that runs one command at a time: the spawning thread sits in the run cgroup while the run
   * is prepared, so a process it spawns meanwhile would join the run (and be killed with it),
   * and a move landing late could take another run's spawn out of its cgroup. The CLI, which
   * runs one exec per process, uses it; the API does not.
   */
  readonly movesInBackground?: boolean;
}

/**
 * Creates a cgroup for one run under polythene's own cgroup in each hierarchy the limits
 * need (`pids` always) and writes the limits. Throws (an `Error` with the failing path) when
 * a directory or a limit cannot be written; what was created is removed first.
 */
export function createRunCgroup(
  hierarchies: CgroupHierarchies,
  limits: ResourceLimits,
  options: RunCgroupOptions = {},
): RunCgroup {
  // v1 moves the calling thread without the wait (see writeMembership): nothing to hide.
  const inBackground = options.movesInBackground === true && hierarchies.version === 'v2';
  const isV2 = hierarchies.version === 'v2';
  let name = nextRunName();
  const wanted: LimitController[] = ['pids'];
  if (limits.memoryBytes !== undefined) wanted.push('memory');
  if (limits.cpus !== undefined) wanted.push('cpu');
  const parents = new Map<string, string>();
  for (const controller of wanted) {
    const parent = hierarchies.parents[controller];
    if (parent === undefined) throw new Error(`no writable ${controller} cgroup here`);
    parents.set(controller, parent);
  }
  if (!isV2 && limits.cpus !== undefined && hierarchies.cpuacctParent !== undefined) {
    parents.set('cpuacct', hierarchies.cpuacctParent);
  }
  // v2 has one directory for every controller; v1 one per hierarchy.
  const created: { parent: string; directory: string }[] = [];
  const directoryOf = new Map<string, string>();
  // The directories the spawning thread is in (or on its way into).
  const entered = new Set<string>();
  // Where the thread returns from a run directory: its own cgroup (v2), else the parent.
  const returnTo = (directory: string): string =>
    hierarchies.ownDirectory ??
    created.find((entry) => entry.directory === directory)?.parent ??
    '';
  // Moves run one after another; one queued when none is under way starts at once, not in
  // a later microtask (the launcher's caller runs synchronously for a while).
  let moving: Promise<unknown> = Promise.resolve();
  let pendingMoves = 0;
  const queueMove = (move: () => Promise<void>): Promise<void> => {
    const start = (): Promise<void> => {
      try {
        return move();
      } catch (error) {
        return Promise.reject(error);
      }
    };
    const started = pendingMoves === 0 ? start() : moving.then(start);
    pendingMoves += 1;
    moving = started
      .catch(() => undefined)
      .finally(() => {
        pendingMoves -= 1;
      });
    return started;
  };
  let earlyEntry: Promise<void> | undefined;
  const leaveAsync = (): void => {
    earlyEntry = undefined;
    const directories = [...entered];
    entered.clear();
    if (directories.length === 0) return;
    void queueMove(async () => {
      await Promise.all(
        directories.map((directory) =>
          writeMembershipAsync(returnTo(directory)).catch(() => {
            // The parent is gone: nothing to undo.
          }),
        ),
      );
    });
  };
  const leaveNow = (): void => {
    earlyEntry = undefined;
    for (const directory of entered) {
      try {
        writeMembership(returnTo(directory), isV2);
      } catch {
        // The parent is gone: nothing to undo.
      }
    }
    entered.clear();
  };
  const leave = inBackground ? leaveAsync : leaveNow;
  const cgroup: RunCgroup = {
    version: isV2 ? 'v2' : 'v1',
    limits,
    get directories() {
      return created.map((entry) => entry.directory);
    },
    enterEarly() {
      if (!inBackground) return Promise.resolve();
      if (earlyEntry !== undefined) return earlyEntry;
      const pids = directoryOf.get('pids');
      // v2 has one directory for all controllers: early only when it limits pids alone.
      const isEarly = pids !== undefined && !(isV2 && directoryOf.size > 1) && !entered.has(pids);
      // After a move under way (a leave), so that none lands after the caller's spawn.
      if (!isEarly) return moving.then(() => undefined);
      entered.add(pids);
      earlyEntry = queueMove(() => writeMembershipAsync(pids)).catch((error: unknown) => {
        entered.delete(pids);
        throw error;
      });
      return earlyEntry;
    },
    enter() {
      try {
        for (const { directory } of created) {
          if (entered.has(directory)) continue;
          writeMembership(directory, isV2);
          entered.add(directory);
        }
      } catch (error) {
        leave();
        throw error;
      }
    },
    leave,
    readUsage() {
      return readRunUsage(isV2, directoryOf, limits);
    },
    async dispose() {
      if (entered.size > 0) leave();
      await moving;
      for (const { directory } of created) removeRunDirectory(directory);
    },
  };
  // The directories, one per hierarchy; the first decides the name (see nextRunName).
  const createDirectories = (): void => {
    for (let attempt = 0; ; attempt++) {
      const [first] = [...parents.values()];
      try {
        mkdirSync(`${first}/${name}`);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 100) throw error;
        name = nextRunName();
      }
    }
    for (const [controller, parent] of parents) {
      const directory = `${parent}/${name}`;
      directoryOf.set(controller, directory);
      if (created.some((entry) => entry.directory === directory)) continue;
      if (created.length > 0) mkdirSync(directory);
      created.push({ parent, directory });
    }
  };
  try {
    createDirectories();
    writeLimits(isV2, directoryOf, limits);
  } catch (error) {
    for (const { directory } of created) removeRunDirectory(directory);
    throw error;
  }
  return cgroup;
}

/**
 * `polythene-PID-STARTTIME-N`, N counting this copy's runs. Another copy of this module in
 * the same process (the CLI's launcher makes a run's cgroup before the CLI is loaded; worker
 * threads) counts on its own, so a taken name moves on to the next N.
 */
function nextRunName(): string {
  return `${ownerStamp()}-${++runCounter}`;
}

// v1: `tasks` moves the one thread that forks, this one (the main thread, or a worker's when
// the API runs in a worker thread): node's other threads never count against the run's pids
// limit. `0` names the writing thread itself, and a thread moving itself needs no hold on
// the kernel's cgroup_threadgroup_rwsem (it cannot be forking meanwhile): about 0.15 ms
// instead of an RCU grace period (8-20 ms here) on Linux 6.x. v2 has no per-thread
// membership outside threaded subtrees: the whole process moves.
function writeMembership(directory: string, isV2: boolean): void {
  writeFileSync(
    `${directory}/${isV2 ? 'cgroup.procs' : 'tasks'}`,
    isV2 ? String(process.pid) : '0',
  );
}

/**
 * v2's move from a pool thread (the whole process moves: the kernel waits there, not on the
 * caller's thread). Opened here and written in one pool request, so the move starts now,
 * not when the caller's thread next runs its event loop (the launcher loads the CLI
 * synchronously meanwhile).
 */
function writeMembershipAsync(directory: string): Promise<void> {
  const fd = openSync(`${directory}/cgroup.procs`, 'w');
  return new Promise((resolve, reject) => {
    write(fd, String(process.pid), (error) => {
      closeSync(fd);
      if (error) reject(error);
      else resolve();
    });
  });
}

function removeRunDirectory(directory: string): void {
  // A process the tree kill missed (a fork bomb's newest child) must not keep it busy. Most
  // often the cgroup is busy only for a moment: the backend has exited, and the box's pid 1
  // is still being torn down (a fraction of a millisecond). So the waits start short and
  // double, up to 10 ms each, about 0.5 s in all.
  let waitMs = 0.25;
  for (let waitedMs = 0; waitedMs < 500; waitedMs += waitMs, waitMs = Math.min(10, waitMs * 2)) {
    try {
      rmdirSync(directory);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY') return;
      killCgroupProcesses(directory);
      // The killed processes leave the cgroup once the kernel has torn them down.
      Atomics.wait(pause, 0, 0, waitMs);
    }
  }
}

/**
 * Makes a run's cgroup ahead of the run, moving in the background (for a process that runs
 * one command at a time: see {@link RunCgroupOptions}), and starts entering it early: finds the hierarchies,
 * sweeps run cgroups a killed polythene left, creates one with these limits and calls
 * `enterEarly`. Undefined where no cgroup can be written or creating one fails: the caller's
 * own set-up then finds out why. The CLI's launcher calls it before Node loads the CLI, so
 * the kernel's wait for the move overlaps the loading.
 */
export function startRunCgroup(limits: ResourceLimits): RunCgroup | undefined {
  const hierarchies = findCgroupHierarchies();
  if (hierarchies.version === 'none') return undefined;
  sweepStaleRunCgroups(hierarchies);
  let cgroup: RunCgroup;
  try {
    cgroup = createRunCgroup(hierarchies, limits, { movesInBackground: true });
  } catch {
    return undefined;
  }
  // A failed entry is seen (and reported) by whoever awaits `enterEarly` next.
  cgroup.enterEarly().catch(() => undefined);
  return cgroup;
}
