import { existsSync, promises as fs, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PolytheneError } from '@polythene/errors';
import { isProcessAlive } from '@polythene/host';
import { assertEntryId } from './entry-id.ts';
import { findRunningUsers } from './in-use-marks.ts';
import { SCRATCH_LOWERS_FILE } from './scratch-layer.ts';
import type { EntryReader } from './store-entries.ts';
import type { StoreLayout } from './store-layout.ts';
import { parseEntryName, parseTemporaryName } from './store-names.ts';

/** Who uses an entry as a base: overlay clones, clones being made, scratch layers, commands. */
export interface StoreUsers {
  /** Committed entries layered on `id`, and live users of it as text. */
  findUsers(id: string): Promise<{ entryIds: string[]; others: string[] }>;
  /** Throws `POLYTHENE_ENTRY_IN_USE` when entry `id` is the base of anything. */
  assertNotInUse(id: string): Promise<void>;
  /** Throws `POLYTHENE_ENTRY_IN_USE` when commands run in entry `id`. */
  assertNotRunning(id: string): void;
  /** See `Store.dependentsOf`. */
  dependentsOf(id: string): Promise<string[]>;
  /** Marks entries `ids` as bases of an overlay clone. */
  markAsBases(ids: readonly string[]): Promise<void>;
}

/** The {@link StoreUsers} of a store. */
export function createStoreUsers(layout: StoreLayout, reader: EntryReader): StoreUsers {
  const { dir, baseMarkerPath } = layout;
  const { readMetadataFile } = reader;

  // Who needs entry `id` as a lower layer: committed entries (whose own rootfs, or pending
  // rootfs, still exists), clones being committed, and live scratch layers.
  async function findUsers(id: string): Promise<{ entryIds: string[]; others: string[] }> {
    const names = readdirSync(dir);
    const nameSet = new Set(names);
    const pendingIds = new Set<string>();
    for (const name of names) {
      const temporary = parseTemporaryName(name);
      if (temporary?.kind === 'tmp' && !temporary.isMetadata) pendingIds.add(temporary.id);
    }
    const entryIds: string[] = [];
    const others: string[] = [];
    for (const name of names) {
      const parsed = parseEntryName(name);
      if (parsed?.part === 'metadata' && parsed.id !== id) {
        if (!nameSet.has(parsed.id) && !pendingIds.has(parsed.id)) continue;
        const metadata = await readMetadataFile(join(dir, name), parsed.id);
        if (metadata !== undefined && !('invalid' in metadata) && metadata.lowerIds?.includes(id))
          entryIds.push(parsed.id);
        continue;
      }
      const temporary = parseTemporaryName(name);
      if (temporary === undefined || !isProcessAlive(temporary.pid)) continue;
      if (temporary.kind === 'tmp' && name.endsWith('.json')) {
        const metadata = await readMetadataFile(join(dir, name), temporary.id);
        if (metadata !== undefined && !('invalid' in metadata) && metadata.lowerIds?.includes(id))
          others.push(`clone ${temporary.id} being created by process ${temporary.pid}`);
      } else if (temporary.kind === 'scratch' && !temporary.isMetadata) {
        const lowers = await fs
          .readFile(join(dir, name, SCRATCH_LOWERS_FILE), 'utf8')
          .catch(() => '');
        if (lowers.split('\n').includes(id))
          others.push(`a throwaway layer of process ${temporary.pid}`);
      }
    }
    return { entryIds: entryIds.sort(), others };
  }

  async function assertNotInUse(id: string): Promise<void> {
    const { entryIds, others } = await findUsers(id);
    if (entryIds.length === 0 && others.length === 0) return;
    const users = [...entryIds.map((user) => `entry ${user}`), ...others];
    const shown =
      users.slice(0, 5).join(', ') + (users.length > 5 ? ` and ${users.length - 5} more` : '');
    throw new PolytheneError(
      'POLYTHENE_ENTRY_IN_USE',
      `cannot remove entry ${id}: it is the base of ${shown}; remove ${entryIds.length > 0 ? 'those clones' : 'them'} first (\`polythene rm\`), or wait for the running commands to end`,
    );
  }

  function assertNotRunning(id: string): void {
    const pids = findRunningUsers(dir, id);
    if (pids.length === 0) return;
    throw new PolytheneError(
      'POLYTHENE_ENTRY_IN_USE',
      `cannot remove entry ${id}: commands are running in it (pid${pids.length > 1 ? 's' : ''} ${pids.join(', ')}); wait for them to end, or stop them and remove it with \`polythene rm --force\``,
    );
  }

  // Every exec asks this. Overlay clones mark their lowers before they exist, so an entry
  // without a marker has no clone: one stat instead of reading every entry's metadata.
  async function dependentsOf(id: string): Promise<string[]> {
    assertEntryId(id);
    if (!existsSync(baseMarkerPath(id))) return [];
    return (await findUsers(id)).entryIds;
  }

  async function markAsBases(ids: readonly string[]): Promise<void> {
    for (const lowerId of ids) {
      // Append mode: creates the marker, never truncates or replaces one.
      await fs.writeFile(baseMarkerPath(lowerId), '', { flag: 'a', mode: 0o644 });
    }
  }

  return { findUsers, assertNotInUse, assertNotRunning, dependentsOf, markAsBases };
}
