import { existsSync } from 'node:fs';
import { DEFAULT_PIDS_LIMIT } from '@polythene/core/internal/exec/parse-limits';
import { type RunCgroup, startRunCgroup } from '@polythene/probe';

// On cgroup v2, moving the process into a cgroup waits for the kernel (an RCU grace period:
// 8 to 20 ms for the moves that take it on this machine), longer than exec prepares a run. So for an `exec`
// that will run under the default pids limit, the launcher makes the run's cgroup and starts
// moving into it before Node loads the CLI, and exec adopts it (ExecOptions.runCgroup). On
// cgroup v1 the spawning thread moves itself at the spawn with no such wait (see probe's
// run-cgroup.ts): starting early there only costs the launcher time, so it does not.

// The usual cgroup v1 pids hierarchy: its presence means v1 limits here.
const V1_PIDS_TASKS = '/sys/fs/cgroup/pids/tasks';

// Flags that make exec's limits other than the default pids cap, or run it in a box.
const OTHER_LIMIT_FLAGS = ['--memory', '--cpus', '--pids-limit', '--pidsLimit', '--in'];

/**
 * True when argv (without node and the script) is an `exec` that runs under the default
 * pids limit alone: no limit flag, no `--in`, no `POLYTHENE_PIDS_LIMIT`, no help.
 */
export function isDefaultLimitExec(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): boolean {
  if (argv[0] !== 'exec' || (env.POLYTHENE_PIDS_LIMIT ?? '') !== '') return false;
  for (const arg of argv.slice(1)) {
    if (arg === '--') break;
    if (arg === '--help' || arg === '-h') return false;
    if (OTHER_LIMIT_FLAGS.some((flag) => arg === flag || arg.startsWith(`${flag}=`))) {
      return false;
    }
  }
  return true;
}

/** The run cgroup for such an exec, started now; undefined otherwise or where none can be made. */
export function startEarlyRunCgroup(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): RunCgroup | undefined {
  if (!isDefaultLimitExec(argv, env) || existsSync(V1_PIDS_TASKS)) return undefined;
  try {
    return startRunCgroup({ pidsLimit: DEFAULT_PIDS_LIMIT });
  } catch {
    // Never in the way: exec sets its limits up itself and reports what fails.
    return undefined;
  }
}
