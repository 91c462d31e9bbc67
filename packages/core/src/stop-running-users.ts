import { setTimeout as delay } from 'node:timers/promises';
import { PolytheneError } from '@polythene/errors';
import { readProcessStartTime } from '@polythene/store';

/** How long a stopped `polythene exec` gets to kill its own command tree: its grace, and more. */
const STOP_GRACE_MS = 7_000;
const POLL_MS = 50;

/**
 * `rm --force`: stops the processes running commands in an entry. Each is a `polythene exec`
 * (or a program using the API) that, on SIGTERM, kills its whole command tree as on a
 * timeout: SIGTERM, then SIGKILL after its grace period. Whatever still lives after
 * {@link STOP_GRACE_MS} gets SIGKILL. Pids are checked against their start time first, so a
 * pid reused since never gets a signal. Refuses to stop the calling process itself.
 */
export async function stopRunningUsers(id: string, pids: readonly number[]): Promise<void> {
  if (pids.includes(process.pid)) {
    throw new PolytheneError(
      'POLYTHENE_ENTRY_IN_USE',
      `cannot remove entry ${id}: this process runs a command in it; let that command end first`,
    );
  }
  const started = new Map(pids.map((pid) => [pid, readProcessStartTime(pid)] as const));
  const isSame = (pid: number): boolean => {
    const startTime = started.get(pid);
    return startTime !== undefined && readProcessStartTime(pid) === startTime;
  };
  const signal = (pid: number, name: NodeJS.Signals): void => {
    try {
      if (isSame(pid)) process.kill(pid, name);
    } catch {
      // Gone meanwhile.
    }
  };
  for (const pid of pids) signal(pid, 'SIGTERM');
  const deadlineMs = Date.now() + STOP_GRACE_MS;
  while (pids.some(isSame) && Date.now() < deadlineMs) await delay(POLL_MS);
  for (const pid of pids) signal(pid, 'SIGKILL');
  while (pids.some(isSame) && Date.now() < deadlineMs + 2_000) await delay(POLL_MS);
}
