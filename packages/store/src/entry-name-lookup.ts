import { closeSync, constants, promises as fs, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { PolytheneError } from '@polythene/errors';
import { isEntryId, isEntryName } from './entry-id.ts';
import { assertEntryName, assertEntryRef } from './entry-name.ts';
import { describeError, errorCode } from './system-error.ts';

// Reading names: what every command taking an entry needs, `exec` included, so nothing here
// loads more than `node:fs` (no locks, no child processes). Changes are in entry-names.ts.

/** The directory under the store that holds names. */
export const NAMES_DIR = '.names';
/** The flock every change of a name holds, inside {@link NAMES_DIR}. */
export const NAMES_LOCK = '.lock';

/** `<store>/.names`. */
export function namesDir(storeDir: string): string {
  return join(storeDir, NAMES_DIR);
}

/** `<store>/.names/<name>` (the name is not checked here). */
export function namePath(storeDir: string, name: string): string {
  return join(namesDir(storeDir), name);
}

/** The entry id `name` points to, or undefined when there is no such name (never follows a symlink). */
export function readEntryName(storeDir: string, name: string): string | undefined {
  assertEntryName(name);
  let fd: number;
  try {
    fd = openSync(namePath(storeDir, name), constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return undefined;
    throw unavailable(storeDir, `cannot read name ${name}`, error);
  }
  try {
    const buffer = Buffer.alloc(64);
    const length = readSync(fd, buffer, 0, buffer.length, 0);
    const id = buffer.subarray(0, length).toString('utf8').trim();
    return isEntryId(id) ? id : undefined;
  } finally {
    closeSync(fd);
  }
}

/** Every name in the store by the entry id it points to (one name per entry). */
export async function readEntryNames(storeDir: string): Promise<Map<string, string>> {
  const byId = new Map<string, string>();
  for (const [id, name] of await readAllNames(storeDir)) if (!byId.has(id)) byId.set(id, name);
  return byId;
}

/**
 * What the store should look up for `ref`, in the order UUID, name, hand-made directory:
 * `ref` itself when it is a UUID; the UUID of the entry named `ref` (`.names/<ref>`); else
 * `ref` unchanged, for a hand-made directory `<store>/<ref>` (the store answers
 * `POLYTHENE_ROOTFS_NOT_FOUND` when there is none). Throws `POLYTHENE_INVALID_ID` when `ref`
 * is neither a UUID nor a valid name.
 */
export function resolveEntryRef(storeDir: string, ref: string): string {
  assertEntryRef(ref);
  if (isEntryId(ref)) return ref;
  return readEntryName(storeDir, ref) ?? ref;
}

/** Every (id, name) pair in the store, by name order; junk in the directory is skipped. */
export async function readAllNames(storeDir: string): Promise<Array<[string, string]>> {
  let names: string[];
  try {
    names = await fs.readdir(namesDir(storeDir));
  } catch (error) {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return [];
    throw unavailable(storeDir, 'cannot list names', error);
  }
  const pairs: Array<[string, string]> = [];
  for (const name of names.sort()) {
    if (!isEntryName(name)) continue;
    const id = readEntryName(storeDir, name);
    if (id !== undefined) pairs.push([id, name]);
  }
  return pairs;
}

/** A `POLYTHENE_STORE_UNAVAILABLE` for a failed names operation. */
export function unavailable(storeDir: string, what: string, error: unknown): PolytheneError {
  return new PolytheneError(
    'POLYTHENE_STORE_UNAVAILABLE',
    `${what} in store ${storeDir}: ${describeError(error)}; check that the store is writable`,
    { cause: error },
  );
}
