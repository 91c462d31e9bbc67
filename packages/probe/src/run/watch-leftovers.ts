import { isProcessAlive, killProcessGroupExcept, listChildPids } from './proc-tree.ts';
import type { SupervisedPids } from './supervised-pids.ts';

const firstLeftoverLookMs = 25;
const leftoverPollMs = 50;
// A backend with no child for this long has either not started one or lost it (see below).
const noChildTimeoutMs = 500;

/**
 * For backends that outlive their command while processes it left behind run (proot without
 * `--kill-on-exit`): polls until `isDone`, and once the command has ended (seen on two polls)
 * kills the rest of the backend's process group so the backend can report and exit.
 * `startedAtMs` is the run's start on the `monotonicMs` clock. Returns the function that
 * stops the watch.
 */
export function watchLeftovers(
  pids: SupervisedPids,
  spawnedPid: number,
  startedAtMs: number,
  isDone: () => boolean,
  monotonicMs: () => number,
): () => void {
  let leftoverTimer: NodeJS.Timeout | undefined;
  let commandPid: number | undefined;
  let hasSeenCommandEnd = false;
  const watch = (): void => {
    if (isDone()) return;
    const backendPid = pids.backendPidOf(spawnedPid);
    if (backendPid === undefined) {
      leftoverTimer = setTimeout(watch, leftoverPollMs);
      return;
    }
    let hasCommandEnded: boolean;
    if (commandPid !== undefined) {
      hasCommandEnded = !isProcessAlive(commandPid);
    } else {
      commandPid = listChildPids(backendPid)[0];
      // A command that ended before we first looked leaves its orphans re-parented away:
      // a backend with no child for a while has lost it (or never started it).
      hasCommandEnded = commandPid === undefined && monotonicMs() - startedAtMs > noChildTimeoutMs;
    }
    // The backend normally exits right after its command: only if it is still there one
    // poll later do leftovers hold it, and only then is /proc scanned for them.
    if (hasCommandEnded && hasSeenCommandEnd) killProcessGroupExcept(backendPid, backendPid);
    hasSeenCommandEnd ||= hasCommandEnded;
    leftoverTimer = setTimeout(watch, leftoverPollMs);
  };
  // Most commands are done before the first look, and proot exits with them by itself: a
  // look while it runs would only compete with its tracing for the CPU.
  leftoverTimer = setTimeout(watch, firstLeftoverLookMs);
  return () => clearTimeout(leftoverTimer);
}
