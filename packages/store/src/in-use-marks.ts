import { existsSync, linkSync, mkdirSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readOwnStartTime, readProcessStartTime } from '@polythene/host';
import { errorCode } from './system-error.ts';

/**
 * In-use marks: while a command runs in an entry, `<store>/.inuse/<id>.<pid>.<start>` exists,
 * a hard link to `<store>/.inuse/.anchor`. `pid` is the process running the command (the
 * `polythene exec`, or the program using the API) and `start` its start time in clock ticks
 * since boot (field 22 of `/proc/PID/stat`). A mark counts only while that pid still runs
 * with that start time, so a SIGKILLed run (whose mark stays behind) never blocks a removal,
 * even after its pid is reused, and neither does an exited run its parent has not reaped yet
 * (a zombie). On the exec path a mark costs one link(2) and one unlink(2): no directory scan,
 * no file to open or write, and the start time is the one the process read already (host's
 * readOwnStartTime, shared with the run cgroup's name).
 */
export const IN_USE_DIR = '.inuse';
const ANCHOR = '.anchor';

/** A mark made by {@link markInUse}; `release` removes it (once; later calls do nothing). */
export interface InUseMark {
  /** False when the mark could not be written (a read-only store): the run goes on unmarked. */
  readonly isMarked: boolean;
  release(): void;
}

// Marks this process holds, by path, with how many runs share each (a process running the
// same entry twice at once holds one link).
const heldMarks = new Map<string, number>();

/**
 * Marks entry `id` of the store in `storeDir` as in use by this process until `release`.
 * Best effort: a store that cannot take the mark (read-only, full) gives `isMarked: false`.
 */
export function markInUse(storeDir: string, id: string): InUseMark {
  // Plain concatenation, not path.join: the store's directory is already absolute and
  // normalized, and the exec pays every microsecond here (join cost 25 µs in a fresh CLI).
  const dir = `${storeDir}/${IN_USE_DIR}`;
  const path = `${dir}/${id}.${process.pid}.${readOwnStartTime()}`;
  const held = heldMarks.get(path) ?? 0;
  if (held === 0 && !tryLink(dir, path, `${storeDir}/${id}`)) {
    return { isMarked: false, release: () => {} };
  }
  heldMarks.set(path, held + 1);
  let isReleased = false;
  return {
    isMarked: true,
    release() {
      if (isReleased) return;
      isReleased = true;
      const count = (heldMarks.get(path) ?? 1) - 1;
      if (count > 0) {
        heldMarks.set(path, count);
        return;
      }
      heldMarks.delete(path);
      try {
        unlinkSync(path);
      } catch {
        // Gone already (removed as stale by hand); nothing else to do.
      }
    },
  };
}

function tryLink(dir: string, path: string, entryPath: string): boolean {
  const anchor = join(dir, ANCHOR);
  try {
    linkSync(anchor, path);
    return true;
  } catch (error) {
    const code = errorCode(error);
    if (code === 'EEXIST') return true; // our own mark, left by a run we lost count of
    if (code !== 'ENOENT') return false;
  }
  // First mark in this store: make the directory and the anchor, then link once more. Not
  // for an entry that does not exist: a failed exec leaves the store as it was.
  if (!existsSync(entryPath)) return false;
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if (errorCode(error) !== 'EEXIST') return false;
  }
  try {
    writeFileSync(anchor, '', { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if (errorCode(error) !== 'EEXIST') return false;
  }
  try {
    linkSync(anchor, path);
    return true;
  } catch (error) {
    return errorCode(error) === 'EEXIST';
  }
}

/**
 * The pids of the processes running commands in entry `id` now, ascending. Marks of dead
 * processes (or of a pid since reused) are removed on the way, best effort.
 */
export function findRunningUsers(storeDir: string, id: string): number[] {
  return scanMarks(storeDir, (markId) => markId === id);
}

/** Removes every stale mark in the store; returns how many live marks remain. */
export function clearStaleMarks(storeDir: string): number {
  return scanMarks(storeDir, () => true).length;
}

function scanMarks(storeDir: string, wanted: (id: string) => boolean): number[] {
  const dir = join(storeDir, IN_USE_DIR);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const pids = new Set<number>();
  for (const name of names) {
    const mark = parseMarkName(name);
    if (mark === undefined || !wanted(mark.id)) continue;
    if (readProcessStartTime(mark.pid) === mark.startTime) {
      pids.add(mark.pid);
      continue;
    }
    try {
      unlinkSync(join(dir, name));
    } catch {
      // Removed meanwhile by another scan, or a read-only store: it stays ignored.
    }
  }
  return [...pids].sort((a, b) => a - b);
}

/** `<id>.<pid>.<start>`; an id may hold dots itself, so the numbers are read from the end. */
export function parseMarkName(
  name: string,
): { id: string; pid: number; startTime: string } | undefined {
  const match = /^(.+)\.([1-9]\d{0,9})\.(\d{1,20})$/.exec(name);
  if (match === null) return undefined;
  const [, id = '', pid = '', startTime = ''] = match;
  return { id, pid: Number(pid), startTime };
}
