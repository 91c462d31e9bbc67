import { listDescendantPids, sendSignal } from './proc-tree.ts';
import type { RunControls, SuperviseOptions } from './supervise-options.ts';
import type { SupervisedPids } from './supervised-pids.ts';
import type { SupervisedRunState } from './supervised-run-state.ts';

const forwardedSignals: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const commandPidRetryMs = 20;
const commandPidRetries = 50;

/**
 * Forwards SIGINT/SIGTERM/SIGHUP (with `controls.forwardSignals`) and `abortSignal` (as
 * SIGTERM) to the command itself, and calls `killAll` `killGraceMs` after the first one.
 * Install it before spawning, so that a signal arriving as soon as the command runs is
 * forwarded, never left to kill polythene. Returns the function that removes it all.
 */
export function forwardSignals(
  controls: Pick<RunControls, 'forwardSignals' | 'abortSignal' | 'killGraceMs'>,
  options: Pick<SuperviseOptions, 'forwardsSignalsItself'>,
  pids: SupervisedPids,
  state: SupervisedRunState,
  killAll: () => void,
): () => void {
  let graceTimer: NodeJS.Timeout | undefined;
  const deliver = (signal: NodeJS.Signals, attempt: number): void => {
    const pid = state.spawnedPid();
    if (pid === undefined || state.isEnded()) return;
    const commandPid = pids.commandPidOf(pid);
    if (commandPid !== undefined) {
      sendSignal(commandPid, signal);
      // As a terminal's Ctrl-C reaches the whole foreground job: a shell waiting for its
      // child handles SIGINT only once the child has ended, so the child must get it too.
      if (signal === 'SIGINT' && options.forwardsSignalsItself !== true) {
        for (const pid of listDescendantPids(commandPid)) sendSignal(pid, signal);
      }
    } else if (attempt < commandPidRetries) {
      // The backend has not started the command yet (still setting up): try again shortly.
      setTimeout(() => deliver(signal, attempt + 1), commandPidRetryMs).unref();
    } else {
      killAll();
    }
  };
  const forward = (signal: NodeJS.Signals): void => {
    if (state.isEnded()) return;
    deliver(signal, 0);
    graceTimer ??= setTimeout(killAll, controls.killGraceMs);
  };
  const signalHandlers = new Map<NodeJS.Signals, () => void>();
  if (controls.forwardSignals) {
    for (const signal of forwardedSignals) {
      const handler = (): void => forward(signal);
      signalHandlers.set(signal, handler);
      process.on(signal, handler);
    }
  }
  const onAbort = (): void => forward('SIGTERM');
  controls.abortSignal?.addEventListener('abort', onAbort, { once: true });
  return () => {
    for (const [signal, handler] of signalHandlers) process.removeListener(signal, handler);
    controls.abortSignal?.removeEventListener('abort', onAbort);
    clearTimeout(graceTimer);
  };
}
