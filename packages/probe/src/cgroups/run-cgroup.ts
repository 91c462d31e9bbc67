import { mkdirSync, readFileSync, readlinkSync, rmdirSync, writeFileSync } from 'node:fs';
import type { CgroupHierarchies, LimitController } from './find-cgroup-hierarchies.ts';
import { killCgroupProcesses, ownerStamp } from './stale-run-cgroups.ts';

/** Limits for one run. Absent fields are not limited. */
export interface ResourceLimits {
  /** Memory cap in bytes (swap included where the kernel accounts it). */
  readonly memoryBytes?: number;
  /** CPU bandwidth in CPUs (0.5 = half of one CPU); positive. */
  readonly cpus?: number;
  /** Cap on processes and threads; positive. */
  readonly pidsLimit?: number;
}

/** What a run used and hit, read from its cgroup after it ended (where the cgroup gives it). */
export interface RunCgroupUsage {
  /** True when the memory limit's OOM killer killed a process of the run. */
  readonly memoryLimitHit: boolean;
  /** True when a fork failed against the pids limit. */
  readonly pidsLimitHit: boolean;
  /** Peak memory use in bytes. */
  readonly memoryPeakBytes?: number;
  /** CPU time used, user and system, in milliseconds. */
  readonly cpuTimeMs?: number;
}

/**
 * One run's cgroup (one directory per v1 hierarchy, or one v2 directory), with its limits
 * written. Polythene's spawning thread enters it right before the backend is spawned, so the
 * child starts in it, and leaves right after. Disposing kills whatever is left in it and
 * removes it.
 */
export interface RunCgroup {
  /** The cgroup directories, for tests and verbose logs. */
  readonly directories: readonly string[];
  /** Moves polythene's spawning thread (v1) or process (v2) into the run cgroup. */
  enter(): void;
  /** Moves it back to where it was. */
  leave(): void;
  /** Reads what the run used and which limit it hit. */
  readUsage(): RunCgroupUsage;
  /** Kills what is left in the cgroup and removes it; never throws. */
  dispose(): void;
}

let runCounter = 0;
const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Creates a cgroup for one run under polythene's own cgroup in each hierarchy the limits
 * need (`pids` always) and writes the limits. Throws (an `Error` with the failing path) when
 * a directory or a limit cannot be written; what was created is removed first.
 */
export function createRunCgroup(hierarchies: CgroupHierarchies, limits: ResourceLimits): RunCgroup {
  const isV2 = hierarchies.version === 'v2';
  const name = `${ownerStamp()}-${++runCounter}`;
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
  const cgroup: RunCgroup = {
    get directories() {
      return created.map((entry) => entry.directory);
    },
    enter() {
      try {
        for (const { directory } of created) writeMembership(directory, isV2);
      } catch (error) {
        cgroup.leave();
        throw error;
      }
    },
    leave() {
      for (const { parent } of created) {
        try {
          writeMembership(hierarchies.ownDirectory ?? parent, isV2);
        } catch {
          // Never in it (enter failed first), or the parent is gone: nothing to undo.
        }
      }
    },
    readUsage() {
      return readRunUsage(isV2, directoryOf, limits);
    },
    dispose() {
      for (const { directory } of created) removeRunDirectory(directory);
    },
  };
  try {
    for (const [controller, parent] of parents) {
      const directory = `${parent}/${name}`;
      directoryOf.set(controller, directory);
      if (created.some((entry) => entry.directory === directory)) continue;
      mkdirSync(directory);
      created.push({ parent, directory });
    }
    writeLimits(isV2, directoryOf, limits);
  } catch (error) {
    cgroup.dispose();
    throw error;
  }
  return cgroup;
}

// v1: `tasks` moves the one thread that forks, this one (the main thread, or a worker's when
// the API runs in a worker thread): node's other threads never count against the run's pids
// limit. v2 has no per-thread membership outside threaded subtrees: the whole process moves.
function writeMembership(directory: string, isV2: boolean): void {
  writeFileSync(
    `${directory}/${isV2 ? 'cgroup.procs' : 'tasks'}`,
    isV2 ? String(process.pid) : readThreadId(),
  );
}

let threadId: string | undefined;

/** This thread's kernel id (module state is per thread: each worker loads its own copy). */
function readThreadId(): string {
  threadId ??= readlinkSync('/proc/thread-self').split('/').at(-1) ?? String(process.pid);
  return threadId;
}

function writeLimits(
  isV2: boolean,
  directoryOf: ReadonlyMap<string, string>,
  limits: ResourceLimits,
): void {
  const at = (controller: string, file: string, value: string): void => {
    writeFileSync(`${directoryOf.get(controller)}/${file}`, value);
  };
  if (limits.pidsLimit !== undefined) at('pids', 'pids.max', String(limits.pidsLimit));
  if (limits.memoryBytes !== undefined) {
    const bytes = String(limits.memoryBytes);
    if (isV2) {
      at('memory', 'memory.max', bytes);
      // Swap would let a hog outgrow the limit instead of being killed.
      writeIfPresent(`${directoryOf.get('memory')}/memory.swap.max`, '0');
    } else {
      at('memory', 'memory.limit_in_bytes', bytes);
      // memsw counts memory plus swap; it exists only where swap accounting is on.
      writeIfPresent(`${directoryOf.get('memory')}/memory.memsw.limit_in_bytes`, bytes);
    }
  }
  if (limits.cpus !== undefined) {
    const periodUs = 100_000;
    const quotaUs = Math.max(1_000, Math.round(limits.cpus * periodUs));
    if (isV2) {
      at('cpu', 'cpu.max', `${quotaUs} ${periodUs}`);
    } else {
      at('cpu', 'cpu.cfs_period_us', String(periodUs));
      at('cpu', 'cpu.cfs_quota_us', String(quotaUs));
    }
  }
}

function writeIfPresent(file: string, value: string): void {
  try {
    writeFileSync(file, value, { flag: 'r+' });
  } catch {
    // Not accounted here: the memory limit alone holds.
  }
}

function readRunUsage(
  isV2: boolean,
  directoryOf: ReadonlyMap<string, string>,
  limits: ResourceLimits,
): RunCgroupUsage {
  const read = (controller: string, file: string): string | undefined => {
    const directory = directoryOf.get(controller);
    if (directory === undefined) return undefined;
    try {
      return readFileSync(`${directory}/${file}`, 'utf8');
    } catch {
      return undefined;
    }
  };
  const pidsLimitHit = (readKey(read('pids', 'pids.events'), 'max') ?? 0) > 0;
  if (isV2) {
    const usageUs = readKey(read('pids', 'cpu.stat'), 'usage_usec');
    const peak = read('memory', 'memory.peak');
    return {
      pidsLimitHit,
      memoryLimitHit:
        limits.memoryBytes !== undefined &&
        (readKey(read('memory', 'memory.events'), 'oom_kill') ?? 0) > 0,
      ...(peak !== undefined && /^\d+\s*$/.test(peak)
        ? { memoryPeakBytes: Number(peak.trim()) }
        : {}),
      ...(usageUs !== undefined ? { cpuTimeMs: Math.round(usageUs / 1000) } : {}),
    };
  }
  const peak = read('memory', 'memory.max_usage_in_bytes');
  const usageNs = read('cpuacct', 'cpuacct.usage') ?? read('cpu', 'cpuacct.usage');
  return {
    pidsLimitHit,
    memoryLimitHit:
      limits.memoryBytes !== undefined &&
      (readKey(read('memory', 'memory.oom_control'), 'oom_kill') ?? 0) > 0,
    ...(peak !== undefined ? { memoryPeakBytes: Number(peak.trim()) } : {}),
    ...(usageNs !== undefined && /^\d+\s*$/.test(usageNs)
      ? { cpuTimeMs: Math.round(Number(usageNs.trim()) / 1e6) }
      : {}),
  };
}

/** The number after `key ` in a flat-keyed cgroup file (`pids.events`, `memory.events`). */
function readKey(text: string | undefined, key: string): number | undefined {
  if (text === undefined) return undefined;
  for (const line of text.split('\n')) {
    const [name, value] = line.split(' ');
    if (name === key && value !== undefined) return Number(value);
  }
  return undefined;
}

function removeRunDirectory(directory: string): void {
  // A process the tree kill missed (a fork bomb's newest child) must not keep it busy.
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      rmdirSync(directory);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY') return;
      killCgroupProcesses(directory);
      // The killed processes leave the cgroup once the kernel has torn them down.
      Atomics.wait(pause, 0, 0, 10);
    }
  }
}
