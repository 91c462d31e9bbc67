import { writeToStderr } from '@polythene/core/internal/logger';

/** `30000` → `30 s`, `1500` → `1.5 s`: the timeout as the user gave it, in seconds. */
export function formatTimeoutSeconds(timeoutMs: number): string {
  return `${Number((timeoutMs / 1000).toFixed(3))} s`;
}

/**
 * One stderr line when `--timeout` (or POLYTHENE_TIMEOUT) ended the run, so that exit 124 is
 * never silent. stderr only: stdout stays the command's output or the exact `--json` document.
 */
export function reportTimeout(timedOut: boolean, timeoutMs: number | undefined): void {
  if (!timedOut || timeoutMs === undefined) return;
  writeToStderr(
    `polythene: timed out after ${formatTimeoutSeconds(timeoutMs)}; killed the command's processes\n`,
  );
}
