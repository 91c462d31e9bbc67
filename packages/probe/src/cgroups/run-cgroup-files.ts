import { readFileSync, writeFileSync } from 'node:fs';

// The files of a run cgroup: the limits written into it, and what the run used and hit.

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

/** Writes the limits into the run's directories (v2: one; v1: one per controller). */
export function writeLimits(
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

/** Reads what the run used and which limit it hit. */
export function readRunUsage(
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
