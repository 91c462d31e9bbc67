import { killProcessTree, sendSignal } from './proc-tree.ts';
import type { SuperviseOptions } from './supervise-options.ts';
import type { SupervisedPids } from './supervised-pids.ts';
import type { SupervisedRunState } from './supervised-run-state.ts';

// A reaping guard asked to kill the tree gets this long before the supervisor kills it all.
const guardKillTimeoutMs = 2_000;

/** Kills everything a supervised run started; see {@link createTreeKiller}. */
export interface TreeKiller {
  /** Kills the tree (once the backend is known; a relay still starting is asked to end). */
  killAll(): void;
  /** True once {@link TreeKiller.killAll} has acted. */
  hasKilled(): boolean;
  /** Cancels the pending kill of a guard that was asked to end. */
  stop(): void;
}

/**
 * The tree kill of a supervised run: the backend's own `killTree` first, then the process
 * tree; a reaping exec guard is asked (SIGTERM) and killed only if it hangs.
 */
export function createTreeKiller(
  options: Pick<SuperviseOptions, 'killTree'>,
  pids: SupervisedPids,
  state: SupervisedRunState,
): TreeKiller {
  let killedBySupervisor = false;
  let guardKillTimer: NodeJS.Timeout | undefined;
  const killAll = (): void => {
    const spawnedPid = state.spawnedPid();
    if (spawnedPid === undefined || state.isEnded()) return;
    killedBySupervisor = true;
    const pid = pids.backendPidOf(spawnedPid);
    // A relay that has not started the backend yet ends on SIGTERM, restoring the terminal.
    if (pid === undefined) {
      sendSignal(spawnedPid, 'SIGTERM');
      return;
    }
    if (options.killTree) options.killTree(pid);
    if (!pids.isGuardReaping) {
      killProcessTree(pid);
      return;
    }
    // SIGKILLing the guard first would re-parent what left the process group to init, out
    // of reach: the guard kills its tree itself, and only a guard that hangs is killed here.
    sendSignal(pid, 'SIGTERM');
    guardKillTimer ??= setTimeout(() => killProcessTree(pid), guardKillTimeoutMs);
    guardKillTimer.unref();
  };
  return {
    killAll,
    hasKilled: () => killedBySupervisor,
    stop: () => clearTimeout(guardKillTimer),
  };
}
