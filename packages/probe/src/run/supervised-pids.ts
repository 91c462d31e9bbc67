import { listChildPids } from './proc-tree.ts';
import type { SuperviseOptions } from './supervise-options.ts';

/** Finds the processes of a supervised run below the one polythene spawned. */
export interface SupervisedPids {
  /** True when the exec guard reaps the tree (the backend is then its child). */
  readonly isGuardReaping: boolean;
  /**
   * The backend process the callbacks are given: the spawned process itself, or the terminal
   * relay's child when there is a relay (undefined until the relay has started it).
   */
  backendPidOf(spawnedPid: number): number | undefined;
  /** The command itself, to deliver forwarded signals to; undefined while not known yet. */
  commandPidOf(spawnedPid: number): number | undefined;
}

/** The {@link SupervisedPids} of a run started with `options`. */
export function createSupervisedPids(
  options: Pick<SuperviseOptions, 'relay' | 'findCommandPid' | 'guard'>,
): SupervisedPids {
  const isGuardReaping = options.guard?.reapTree === true;
  // The spawned process is the terminal relay when there is one (it starts the guard), else
  // the guard, which execs the backend or, reaping, is its parent: the backend process the
  // callbacks are given.
  const backendPidOf = (spawnedPid: number): number | undefined =>
    options.relay === undefined ? spawnedPid : listChildPids(spawnedPid)[0];
  const commandPidOf = (spawnedPid: number): number | undefined => {
    const pid = backendPidOf(spawnedPid);
    if (pid === undefined) return undefined;
    if (options.findCommandPid) return options.findCommandPid(pid);
    // A reaping guard's first child is the backend; the command is the backend's.
    const backendPid = isGuardReaping ? listChildPids(pid)[0] : pid;
    return backendPid === undefined ? undefined : listChildPids(backendPid)[0];
  };
  return { isGuardReaping, backendPidOf, commandPidOf };
}
