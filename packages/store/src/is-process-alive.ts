import { errorCode } from './system-error.ts';

/**
 * True when a process with this pid exists (signal 0 probe; EPERM means it exists but is
 * someone else's). Pids below 1 are never alive: kill(0) would address our process group.
 */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid < 1) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) === 'EPERM';
  }
}
