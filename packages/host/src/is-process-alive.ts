import { hasExitedState, readStatFieldsAfterName } from './process-start-time.ts';

/**
 * True while a process with this pid exists and has not exited: a zombie (state `Z`, exited
 * but not yet reaped by its parent) or a dying process (`X`) is not alive, since whatever it
 * held (a store entry, a pull's container, a device copy) is stale though its pid stays
 * taken. Existence is a signal-0 probe, so another user's process (EPERM) counts too; pids
 * below 1 are never alive (kill(0) would address our own process group). The one definition
 * every Polythene package uses.
 */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid < 1) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException | undefined)?.code !== 'EPERM') return false;
  }
  return !hasExited(pid);
}

function hasExited(pid: number): boolean {
  let fields: string[];
  try {
    fields = readStatFieldsAfterName(pid);
  } catch (error) {
    // Gone between the probe and the read; any other failure (a /proc hidden from us)
    // leaves the signal probe's answer standing.
    return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
  }
  return hasExitedState(fields[0]);
}
