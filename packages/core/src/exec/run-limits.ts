import { PolytheneError } from '@polythene/errors';
import {
  createRunCgroup,
  findCgroupHierarchies,
  type LimitsEnforcement,
  type ResourceLimits,
  type RunCgroup,
  type RunResult,
  type SpawnHooks,
  sweepStaleRunCgroups,
} from '@polythene/probe';
import type { Logger } from '../logger.ts';
import { DEFAULT_PIDS_LIMIT, parseCpus, parseMemorySize, parsePidsLimit } from './parse-limits.ts';

/** The limits a caller asks for (the API's and the testkit's options; the CLI's flags). */
export interface LimitOptions {
  /** Memory cap: bytes, or podman's syntax (`512m`, `1g`). */
  readonly memory?: number | string;
  /** CPU bandwidth in CPUs; a fraction allowed. */
  readonly cpus?: number | string;
  /** Cap on processes and threads; 0 = none. Default `POLYTHENE_PIDS_LIMIT`, else 4096. */
  readonly pidsLimit?: number | string;
}

/** What a run's limits did, for its result. */
export interface LimitsOutcome {
  /** How limits were enforced for this run: `none` when they were not. */
  readonly limits: LimitsEnforcement;
  /** The limit the run hit, when it ended because of one (memory) or failed after one (pids). */
  readonly limit?: 'memory' | 'pids';
  /** The memory limit in bytes, when one was set and held. */
  readonly memoryLimitBytes?: number;
  /** The pids limit, when one was set and held. */
  readonly pidsLimit?: number;
  /** Peak memory use in bytes, where the cgroup gives it. */
  readonly memoryPeakBytes?: number;
  /** CPU time used in milliseconds, where the cgroup gives it. */
  readonly cpuTimeMs?: number;
}

/** One run's limits: hooks for the spawn, then the outcome, then clean-up. */
export interface RunLimits {
  /**
   * Waits for the run cgroup's early entry (a cgroup made ahead and moving in the
   * background, as the CLI's launcher makes one: its cost overlaps loading and preparing the
   * run) and returns the hooks to give the backend: undefined when no limit applies or none
   * can be enforced. Throws the `--strict` refusal.
   */
  ready(): Promise<SpawnHooks | undefined>;
  /** Reads the outcome once the run has ended. */
  finish(result: RunResult): LimitsOutcome;
  /** Removes the run's cgroup (killing what is left in it); never rejects. */
  dispose(): Promise<void>;
}

/** The limits one run asks for, validated. */
export interface RequestedLimits {
  readonly limits: ResourceLimits;
  /** True when the caller set a limit (not only the default pids cap). */
  readonly isAsked: boolean;
}

/**
 * Validates the caller's limits (usage errors naming the valid form) and adds the default
 * pids cap: `POLYTHENE_PIDS_LIMIT`, else 4096; 0 means none.
 */
export function resolveRequestedLimits(
  options: LimitOptions,
  hostEnv: Readonly<Record<string, string | undefined>>,
): RequestedLimits {
  const envPids = hostEnv.POLYTHENE_PIDS_LIMIT;
  const pidsLimit =
    options.pidsLimit !== undefined
      ? parsePidsLimit(options.pidsLimit)
      : envPids !== undefined && envPids !== ''
        ? parsePidsLimit(envPids, 'POLYTHENE_PIDS_LIMIT')
        : DEFAULT_PIDS_LIMIT;
  const limits: ResourceLimits = {
    ...(options.memory !== undefined ? { memoryBytes: parseMemorySize(options.memory) } : {}),
    ...(options.cpus !== undefined ? { cpus: parseCpus(options.cpus) } : {}),
    ...(pidsLimit > 0 ? { pidsLimit } : {}),
  };
  const isPidsLimitAsked = options.pidsLimit !== undefined || (envPids ?? '') !== '';
  const isAsked =
    options.memory !== undefined ||
    options.cpus !== undefined ||
    (isPidsLimitAsked && pidsLimit > 0);
  return { limits, isAsked };
}

/**
 * Sets up one run's limits: a cgroup of its own under polythene's, with the pids cap
 * (default 4096) and any memory or CPU limit written, after sweeping cgroups that runs of a
 * killed polythene left; or adopts `prepared` when its limits are these. Where no
 * cgroup can be written, a limit the caller asked for is a lost guarantee: one warning, or
 * under `strict` a `POLYTHENE_SETUP_FAILED`; the default cap alone is dropped silently
 * (`polythene backends` says so).
 */
export function prepareRunLimits(
  requested: RequestedLimits,
  context: { readonly strict: boolean; readonly logger: Logger },
  prepared?: RunCgroup,
): RunLimits {
  const { limits, isAsked } = requested;
  if (prepared !== undefined && !hasSameLimits(prepared.limits, limits)) {
    // Made for other limits: of no use to this run.
    const disposing = prepared.dispose();
    const own = prepareRunLimits(requested, context);
    return { ...own, dispose: () => Promise.all([disposing, own.dispose()]).then(() => {}) };
  }
  if (Object.keys(limits).length === 0) return withoutCgroup();
  let cgroup = prepared;
  let failure = 'no writable cgroup here';
  if (cgroup === undefined) {
    const hierarchies = findCgroupHierarchies();
    failure = hierarchies.reason ?? failure;
    if (hierarchies.version !== 'none') {
      sweepStaleRunCgroups(hierarchies);
      try {
        cgroup = createRunCgroup(hierarchies, limits);
      } catch (error) {
        failure = `cannot create a cgroup: ${(error as Error).message}`;
      }
    }
  }
  // Without a cgroup: one warning (or the --strict refusal) when the caller asked for a limit.
  const runWithout = (reason: string): undefined => {
    if (isAsked) {
      if (context.strict) {
        throw new PolytheneError(
          'POLYTHENE_SETUP_FAILED',
          `--strict refuses to run without limits (${reason}); run as root or in a delegated cgroup v2 subtree, or drop --strict`,
        );
      }
      context.logger.warn(
        `runs without limits (${reason}); pass --strict to refuse weaker isolation`,
      );
    } else {
      context.logger.verbose(`no default pids limit: ${reason}`);
    }
    return undefined;
  };
  if (cgroup === undefined) {
    runWithout(failure);
    return withoutCgroup();
  }
  const runCgroup = cgroup;
  let hasEntered = false;
  let isWithout = false;
  context.logger.verbose(`limits: cgroup ${runCgroup.version} ${runCgroup.directories.join(' ')}`);
  const hooks: SpawnHooks = {
    before() {
      runCgroup.enter();
      hasEntered = true;
    },
    after() {
      runCgroup.leave();
    },
  };
  return {
    async ready() {
      // The cgroup's own entry (started by whoever made it ahead); after a first attempt's
      // leave, another backend's attempt enters again.
      try {
        await runCgroup.enterEarly();
        return hooks;
      } catch (error) {
        isWithout = true;
        return runWithout(`cannot enter a cgroup: ${(error as Error).message}`);
      }
    },
    finish(result) {
      // A backend that spawned without the hooks ran its command outside the cgroup.
      if (!hasEntered) {
        if (isAsked && !isWithout) {
          context.logger.warn(
            `${result.backend} started the command without polythene's spawn hooks: the run had no limits`,
          );
        }
        return { limits: 'none' };
      }
      const usage = runCgroup.readUsage();
      const hasFailed = result.exitCode !== 0 || result.signal !== null || result.timedOut;
      // A process the memory limit killed that the command survived is no outcome of the run.
      const limit =
        usage.memoryLimitHit && hasFailed
          ? 'memory'
          : usage.pidsLimitHit && hasFailed
            ? 'pids'
            : undefined;
      return {
        limits: runCgroup.version,
        ...(limit !== undefined ? { limit } : {}),
        ...(limits.memoryBytes !== undefined ? { memoryLimitBytes: limits.memoryBytes } : {}),
        ...(limits.pidsLimit !== undefined ? { pidsLimit: limits.pidsLimit } : {}),
        ...(limits.memoryBytes !== undefined && usage.memoryPeakBytes !== undefined
          ? { memoryPeakBytes: usage.memoryPeakBytes }
          : {}),
        ...(usage.cpuTimeMs !== undefined ? { cpuTimeMs: usage.cpuTimeMs } : {}),
      };
    },
    dispose() {
      return runCgroup.dispose();
    },
  };
}

function withoutCgroup(): RunLimits {
  return {
    ready: () => Promise.resolve(undefined),
    finish: () => ({ limits: 'none' }),
    dispose: () => Promise.resolve(),
  };
}

function hasSameLimits(a: ResourceLimits, b: ResourceLimits): boolean {
  return a.pidsLimit === b.pidsLimit && a.memoryBytes === b.memoryBytes && a.cpus === b.cpus;
}
