import { closeSync, constants, openSync, readSync } from 'node:fs';

// A process is told apart from a later one with the same pid by its start time: field 22 of
// `/proc/PID/stat`, in clock ticks since boot. In-use marks, run cgroups and box holders name
// their owner by pid and start time.

// Shared by every copy of this module in the process through the global symbol registry: the
// `polythene` launcher and the CLI it loads are separate bundles, and the launcher has often
// read it already (for the run cgroup's name), so an exec reads /proc/self/stat once.
const OWN_START_TIME = Symbol.for('polythene.host.ownStartTime');

// One line of /proc/PID/stat: the command name (16 bytes at most) and 51 numbers.
const statBuffer = Buffer.allocUnsafe(1024) as Buffer & LatinSliceable;

/**
 * The fields of `/proc/PID/stat` after the command name, `[state, ppid, …]` (field 3 first).
 * Throws what opening the file throws.
 */
export function readStatFieldsAfterName(pid: number): string[] {
  // open, one read, close, and latin1Slice: measured in a fresh `polythene exec`, where this
  // code runs cold, 75 µs against 400 µs for readFileSync (its first read of a file of
  // unknown size) and 170 µs for buffer.toString('latin1').
  const fd = openSync(`/proc/${pid}/stat`, constants.O_RDONLY);
  let length: number;
  try {
    length = readSync(fd, statBuffer, 0, statBuffer.length, 0);
  } finally {
    closeSync(fd);
  }
  const stat = statBuffer.latin1Slice(0, length);
  // The command name is in parentheses and may hold any character, `)` and spaces too.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

// Buffer's own latin1 decoder, which Node's buffer.toString('latin1') ends in after checks of
// its arguments; present in every Node release, though not in @types/node.
interface LatinSliceable {
  latin1Slice(start: number, end: number): string;
}

/** True for the states of a process that has exited: zombie (`Z`) or dying (`X`). */
export function hasExitedState(state: string | undefined): boolean {
  return state === 'Z' || state === 'X';
}

/**
 * The start time of process `pid` while it runs; undefined once it is gone, or has exited and
 * awaits its parent's wait (a zombie, state `Z`, or dying, `X`): what such a process held is
 * free, though its pid stays taken.
 */
export function readProcessStartTime(pid: number): string | undefined {
  if (!Number.isSafeInteger(pid) || pid < 1) return undefined;
  let fields: string[];
  try {
    fields = readStatFieldsAfterName(pid);
  } catch {
    return undefined;
  }
  return hasExitedState(fields[0]) ? undefined : fields[19];
}

/**
 * This process's start time, read once per process (see above); `'0'` where /proc cannot be
 * read, so that names built from it stay well-formed.
 */
export function readOwnStartTime(): string {
  const registry = globalThis as { [OWN_START_TIME]?: string };
  registry[OWN_START_TIME] ??= readProcessStartTime(process.pid) ?? '0';
  return registry[OWN_START_TIME];
}
