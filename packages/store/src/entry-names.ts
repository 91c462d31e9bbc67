import { promises as fs, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { PolytheneError } from '@polythene/errors';
import { isProcessAlive } from '@polythene/host';
import { assertEntryName } from './entry-name.ts';
import {
  NAMES_LOCK,
  namePath,
  namesDir,
  readAllNames,
  readEntryName,
  unavailable,
} from './entry-name-lookup.ts';
import { parseTemporaryName } from './store-names.ts';
import { errorCode } from './system-error.ts';
import { withFileLock } from './with-file-lock.ts';

// Names live in `<store>/.names/<name>`, one small file each holding `<uuid>\n`: a directory
// of their own, so the store's entries, temporaries and other tools' marks are untouched.
// Every change (claim, rename, release) happens under one flock, `.names/.lock`: a claim
// checks that the name is free or stale (its entry neither committed nor being made by a
// live process) and renames a complete temporary file onto it. Readers take no
// lock: a name file appears whole (linked from a complete temporary) or not at all.

/** True when entry `id` is committed (its rootfs exists) or being made by a live process. */
async function isEntryLive(storeDir: string, id: string): Promise<boolean> {
  const hasRootfs = (): boolean => {
    try {
      return lstatSync(join(storeDir, id)).isDirectory();
    } catch {
      return false;
    }
  };
  if (hasRootfs()) return true;
  for (const entry of await fs.readdir(storeDir)) {
    const temporary = parseTemporaryName(entry);
    if (temporary?.kind === 'tmp' && temporary.id === id && isProcessAlive(temporary.pid))
      return true;
  }
  // A commit may have renamed its pending tree into place while we read the directory.
  return hasRootfs();
}

function nameTaken(storeDir: string, name: string, id: string): PolytheneError {
  return new PolytheneError(
    'POLYTHENE_NAME_TAKEN',
    `the name ${name} is taken by entry ${id} in store ${storeDir}: pick another, or free it with \`polythene rm ${name}\` or \`polythene rename ${name} NEW-NAME\``,
  );
}

async function withNamesLock<T>(storeDir: string, fn: () => Promise<T>): Promise<T> {
  const dir = namesDir(storeDir);
  try {
    await fs.mkdir(dir, { mode: 0o700 });
  } catch (error) {
    if (errorCode(error) !== 'EEXIST') throw unavailable(storeDir, 'cannot create .names', error);
  }
  if (!lstatSync(dir).isDirectory()) {
    throw new PolytheneError(
      'POLYTHENE_STORE_UNAVAILABLE',
      `${dir} is not a directory; polythene keeps entry names there: remove it with \`rm ${dir}\``,
    );
  }
  return withFileLock(join(dir, NAMES_LOCK), fn);
}

// Under the lock: makes `name` point to `id`, replacing only a stale name.
async function linkName(storeDir: string, name: string, id: string): Promise<void> {
  const current = readEntryName(storeDir, name);
  if (current === id) return;
  if (current !== undefined && (await isEntryLive(storeDir, current)))
    throw nameTaken(storeDir, name, current);
  const temporary = join(namesDir(storeDir), `.tmp-${name}.${process.pid}`);
  try {
    await fs.writeFile(temporary, `${id}\n`, { mode: 0o600 });
    // A stale (or damaged) name is replaced; a free one is created.
    await fs.rename(temporary, namePath(storeDir, name));
  } catch (error) {
    await fs.unlink(temporary).catch(() => undefined);
    throw unavailable(storeDir, `cannot record name ${name}`, error);
  }
}

async function unlinkNamesOf(storeDir: string, id: string, keep?: string): Promise<void> {
  for (const [entryId, name] of await readAllNames(storeDir)) {
    if (entryId !== id || name === keep) continue;
    await fs.unlink(namePath(storeDir, name)).catch((error: unknown) => {
      if (errorCode(error) !== 'ENOENT')
        throw unavailable(storeDir, `cannot drop name ${name}`, error);
    });
  }
}

/**
 * Gives entry `id` the name `name` (its only one: an earlier name of `id` is dropped). Throws
 * `POLYTHENE_USAGE` for a name breaking the rule, and `POLYTHENE_NAME_TAKEN` when another
 * entry that exists (or is being made by a live process) has it. Of concurrent claims of one
 * name exactly one wins. `id` may be a pending entry's: a claim made before a pull commits
 * is released by {@link releaseEntryName}, or goes stale when the pulling process dies.
 */
export async function claimEntryName(storeDir: string, name: string, id: string): Promise<void> {
  assertEntryName(name);
  await withNamesLock(storeDir, async () => {
    await linkName(storeDir, name, id);
    await unlinkNamesOf(storeDir, id, name);
  });
}

/**
 * Throws `POLYTHENE_NAME_TAKEN` when `name` belongs to a live entry: a quick check before
 * long work; only {@link claimEntryName} decides races.
 */
export async function assertEntryNameFree(storeDir: string, name: string): Promise<void> {
  assertEntryName(name);
  const current = readEntryName(storeDir, name);
  if (current !== undefined && (await isEntryLive(storeDir, current)))
    throw nameTaken(storeDir, name, current);
}

/** Drops `name` if it still points to `id` (a failed pull's claim). */
export async function releaseEntryName(storeDir: string, name: string, id: string): Promise<void> {
  if (readEntryName(storeDir, name) !== id) return;
  await withNamesLock(storeDir, async () => {
    if (readEntryName(storeDir, name) === id) await fs.unlink(namePath(storeDir, name));
  });
}

/** Drops every name of entry `id` (after it was removed). No names directory: nothing to do. */
export async function dropEntryNames(storeDir: string, id: string): Promise<void> {
  const pairs = await readAllNames(storeDir);
  if (!pairs.some(([entryId]) => entryId === id)) return;
  await withNamesLock(storeDir, () => unlinkNamesOf(storeDir, id));
}

/** Drops names whose entry is gone (neither committed nor being made); returns how many. */
export async function dropStaleEntryNames(storeDir: string): Promise<number> {
  const pairs = await readAllNames(storeDir);
  if (pairs.length === 0) return 0;
  return withNamesLock(storeDir, async () => {
    let dropped = 0;
    for (const [id, name] of await readAllNames(storeDir)) {
      if (await isEntryLive(storeDir, id)) continue;
      await fs.unlink(namePath(storeDir, name)).catch(() => undefined);
      dropped += 1;
    }
    return dropped;
  });
}
