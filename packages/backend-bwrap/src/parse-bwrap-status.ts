/** What bwrap's `--json-status-fd` said. */
export interface BwrapStatus {
  /** Host pid of the sandbox's first process (bwrap's init, pid 1 in the new pid namespace). */
  childPid?: number;
  /** The command's exit status (128+n for signal n); absent when the command never ran. */
  exitCode?: number;
}

/**
 * Reads what bwrap wrote to its `--json-status-fd` so far: one JSON document per line. A line
 * it cannot parse (one bwrap is still writing) is ignored; the next read sees it whole.
 */
export function parseBwrapStatus(text: string): BwrapStatus {
  const status: BwrapStatus = {};
  for (const line of text.split('\n')) readStatusLine(line, status);
  return status;
}

function readStatusLine(line: string, status: BwrapStatus): void {
  const trimmed = line.trim();
  if (trimmed === '') return;
  let document: unknown;
  try {
    document = JSON.parse(trimmed);
  } catch {
    return;
  }
  if (typeof document !== 'object' || document === null) return;
  const record = document as Record<string, unknown>;
  if (typeof record['child-pid'] === 'number') status.childPid = record['child-pid'];
  if (typeof record['exit-code'] === 'number') status.exitCode = record['exit-code'];
}
