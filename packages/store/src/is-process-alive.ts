import { readFileSync } from 'node:fs';
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
    return !isZombie(pid);
  } catch (error) {
    return errorCode(error) === 'EPERM';
  }
}

// A zombie has exited: what it held is stale, though its pid stays taken until its parent
// (or an init that does not reap, as in some containers) collects it.
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}
