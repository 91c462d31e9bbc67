import { findCgroupHierarchies, type LimitsEnforcement } from '@polythene/probe';

/** How `exec`'s resource limits are enforced here, for `polythene backends`. */
export interface LimitsDescription {
  /** `v2` or `v1` (cgroups polythene can write), or `none`. */
  readonly limits: LimitsEnforcement;
  /** The controllers a run's cgroup can get (`pids`, `memory`, `cpu`). */
  readonly limitControllers: readonly string[];
  /** Why limits are not enforced (with `none`). */
  readonly limitsReason?: string;
}

/** Finds how limits are enforced on this host, as this user (two file reads). */
export function describeLimits(): LimitsDescription {
  const hierarchies = findCgroupHierarchies();
  return {
    limits: hierarchies.version,
    limitControllers: Object.keys(hierarchies.parents),
    ...(hierarchies.version === 'none' && hierarchies.reason !== undefined
      ? { limitsReason: hierarchies.reason }
      : {}),
  };
}

/** The line under the backends table. */
export function formatLimitsLine(description: LimitsDescription): string {
  return description.limits === 'none'
    ? `limits: none (${description.limitsReason ?? 'no writable cgroup'}): --memory, --cpus and --pids-limit are not enforced\n`
    : `limits: cgroup ${description.limits} (${description.limitControllers.join(', ')})\n`;
}
