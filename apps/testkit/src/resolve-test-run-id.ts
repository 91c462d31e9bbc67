import { readFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';

/**
 * Names the current test run, the same in every vitest worker of one run and different in
 * the next: `POLYTHENE_TESTKIT_RUN_ID` when set, else the pid and start time of the vitest
 * main process (the parent of a `forks`/`vmForks` worker; this process itself for `threads`
 * workers and outside vitest). The start time keeps a reused pid from passing for an old run.
 */
export function resolveTestRunId(hostEnv: Readonly<Record<string, string | undefined>>): string {
  const fromEnv = hostEnv.POLYTHENE_TESTKIT_RUN_ID;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const isForkWorker = process.env.VITEST_POOL_ID !== undefined && isMainThread;
  const ownerPid = isForkWorker ? process.ppid : process.pid;
  return `${ownerPid}@${readProcessStartTime(ownerPid)}`;
}

/** Field 22 of `/proc/PID/stat` (start time in clock ticks since boot); `?` when unreadable. */
function readProcessStartTime(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? '?';
  } catch {
    return '?';
  }
}
