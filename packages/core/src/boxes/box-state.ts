import { promises as fs, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PolytheneError } from '@polythene/errors';
import { isEntryId } from '@polythene/store';

/** What `start` records about a box, in `<store>/.boxes/<id>/box.json`. */
export interface BoxRecord {
  /** The box's id (a UUID). */
  readonly id: string;
  /** Its name, when `--name` gave one. */
  readonly name?: string;
  /** The store entry it runs on. */
  readonly entry: string;
  /** When it was started (ISO 8601). */
  readonly started: string;
  /** Idle time after which the holder ends the box by itself; absent: never. */
  readonly expireAfterMs?: number;
  /** How it was started: passed to the box's run (and defaults for `exec --in`). */
  readonly isolation?: string;
  readonly env?: readonly string[];
  readonly workdir?: string;
  readonly user?: string;
  readonly binds?: readonly string[];
  /** The keeper process (the polythene process that runs the box's backend), its pid and start time. */
  readonly keeperPid?: number;
  readonly keeperStartTime?: number;
}

/** The box's holder as the host sees it, written by the keeper once it runs (`holder.json`). */
export interface BoxHolder {
  /** Host pid of the holder (`polythene-box init`), whose namespaces `exec --in` joins. */
  readonly pid: number;
  /** Field 22 of its `/proc/PID/stat`: tells a recycled pid apart. */
  readonly startTime: number;
  /** The backend that runs the box. */
  readonly backend: string;
}

/** A box found in the store and whether it still runs. */
export interface BoxStatus {
  readonly record: BoxRecord;
  readonly holder: BoxHolder | undefined;
  /** `running`: the holder lives; `starting`: the keeper lives, no holder yet; `dead`. */
  readonly state: 'running' | 'starting' | 'dead';
  /** When an `exec --in` last used it (ISO 8601), else its start. */
  readonly lastUsed: string;
}

const BOX_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const UUID_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `<store>/.boxes`: one directory per box that is up (or was, until cleaned). */
export function boxesDir(storeDir: string): string {
  return join(storeDir, '.boxes');
}

/** `<store>/.boxes/<id>`: the box's state and its log. */
export function boxDir(storeDir: string, id: string): string {
  return join(boxesDir(storeDir), id);
}

/** The box's log: its holder's and every `--detach`ed process's output. */
export function boxLogPath(storeDir: string, id: string): string {
  return join(boxDir(storeDir, id), 'log');
}

/** Throws a usage error unless `name` follows the box name rule. */
export function assertBoxName(name: string): void {
  if (!BOX_NAME_PATTERN.test(name) || UUID_SHAPE.test(name)) {
    throw new PolytheneError(
      'POLYTHENE_USAGE',
      `--name ${JSON.stringify(name)}: a box name is 1-64 letters, digits, '.', '_' or '-', starts with a letter or digit, and is not shaped like a UUID`,
    );
  }
}

/** Field 22 of `/proc/PID/stat` (start time in clock ticks since boot), or undefined. */
export function readStartTime(pid: number): number | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const state = fields[0];
    if (state === 'Z' || state === 'X') return undefined;
    const value = Number(fields[19]);
    return Number.isInteger(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** True while `pid` is the very process that had `startTime`. */
export function isSameProcess(pid: number | undefined, startTime: number | undefined): boolean {
  return pid !== undefined && startTime !== undefined && readStartTime(pid) === startTime;
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await fs.readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** Writes `value` as `path` atomically (a temporary file renamed over it), mode 0600. */
export async function writeJson(path: string, value: unknown): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await fs.writeFile(temporary, `${JSON.stringify(value)}\n`, { mode: 0o600 });
  await fs.rename(temporary, path);
}

/** Reads one box's state; undefined when there is no such box directory. */
export async function readBox(storeDir: string, id: string): Promise<BoxStatus | undefined> {
  const dir = boxDir(storeDir, id);
  const record = await readJson<BoxRecord>(join(dir, 'box.json'));
  if (record === undefined || record.id !== id) return undefined;
  const holder = await readJson<BoxHolder>(join(dir, 'holder.json'));
  const isHolderAlive = holder !== undefined && isSameProcess(holder.pid, holder.startTime);
  const isKeeperAlive = isSameProcess(record.keeperPid, record.keeperStartTime);
  const state = isHolderAlive
    ? 'running'
    : isKeeperAlive && holder === undefined
      ? 'starting'
      : 'dead';
  let lastUsed = record.started;
  try {
    lastUsed = (await fs.stat(join(dir, 'last-used'))).mtime.toISOString();
  } catch {
    // Never used since it started.
  }
  return { record, holder, state, lastUsed };
}

/**
 * Every box in the store. A dead one (its holder killed, its keeper gone) is cleaned away
 * here and left out, so `ps`, `stop` and `prune` never show a box that cannot be used.
 */
export async function listBoxes(storeDir: string): Promise<BoxStatus[]> {
  let names: string[];
  try {
    names = await fs.readdir(boxesDir(storeDir));
  } catch {
    return [];
  }
  const boxes: BoxStatus[] = [];
  for (const name of names) {
    if (!isEntryId(name)) continue;
    const box = await readBox(storeDir, name);
    if (box === undefined) {
      // A directory whose box.json is missing: a start that died before writing it.
      await removeBoxDirIfAbandoned(storeDir, name);
      continue;
    }
    if (box.state === 'dead') {
      await cleanDeadBox(storeDir, box);
      continue;
    }
    boxes.push(box);
  }
  return boxes.sort((a, b) => a.record.started.localeCompare(b.record.started));
}

async function removeBoxDirIfAbandoned(storeDir: string, id: string): Promise<void> {
  const dir = boxDir(storeDir, id);
  try {
    const stat = await fs.stat(dir);
    // Only once it is clearly not a start in progress.
    if (Date.now() - stat.mtimeMs > 60_000) await fs.rm(dir, { recursive: true, force: true });
  } catch {
    // Gone already.
  }
}

/** Removes a dead box's state; a keeper still alive (holder gone) is killed first. */
export async function cleanDeadBox(storeDir: string, box: BoxStatus): Promise<void> {
  const { keeperPid, keeperStartTime } = box.record;
  if (keeperPid !== undefined && isSameProcess(keeperPid, keeperStartTime)) {
    try {
      process.kill(keeperPid, 'SIGTERM');
    } catch {
      // Ended meanwhile.
    }
  }
  await fs.rm(boxDir(storeDir, box.record.id), { recursive: true, force: true });
}

/** The running (or starting) box named or numbered `ref`; a `POLYTHENE_BOX_NOT_FOUND` otherwise. */
export async function findBox(storeDir: string, ref: string): Promise<BoxStatus> {
  // An id names its directory: no need to read every box (exec --in's hot path).
  const byId = isEntryId(ref) ? await readBox(storeDir, ref) : undefined;
  if (byId?.state === 'dead') await cleanDeadBox(storeDir, byId);
  const box =
    byId !== undefined
      ? byId.state === 'dead'
        ? undefined
        : byId
      : (await listBoxes(storeDir)).find((each) => each.record.name === ref);
  if (box === undefined) {
    throw new PolytheneError('POLYTHENE_BOX_NOT_FOUND', `no running box ${ref} (see polythene ps)`);
  }
  return box;
}

/** Marks the box used now (its `last-used` time, shown by `ps`). */
export async function touchLastUsed(storeDir: string, id: string): Promise<void> {
  const path = join(boxDir(storeDir, id), 'last-used');
  try {
    const now = new Date();
    await fs.utimes(path, now, now);
  } catch {
    await fs.writeFile(path, '', { mode: 0o600 }).catch(() => {});
  }
}
