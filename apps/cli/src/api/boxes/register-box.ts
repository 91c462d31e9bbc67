import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import {
  type BoxRecord,
  boxDir,
  boxesDir,
  listBoxes,
  writeJson,
} from '@polythene/core/internal/boxes/box-state';
import type { Logger } from '@polythene/core/internal/logger';
import { PolytheneError } from '@polythene/errors';
import { findCgroupHierarchies } from '@polythene/probe';
import { withFileLock } from '@polythene/store';

/**
 * Makes a new box's state directory and record. A named box is registered under the boxes'
 * lock (`<store>/.boxes/.names.lock`), after looking for a running or starting box of that
 * name: of two `start --name X` at once, one gets the name and the other a usage error.
 */
export async function registerBox(storeDir: string, record: BoxRecord): Promise<void> {
  await fs.mkdir(boxesDir(storeDir), { recursive: true, mode: 0o700 });
  const register = async (): Promise<void> => {
    if (record.name !== undefined) {
      const taken = (await listBoxes(storeDir)).find((box) => box.record.name === record.name);
      if (taken !== undefined) {
        throw new PolytheneError(
          'POLYTHENE_USAGE',
          `--name ${record.name}: box ${taken.record.id} already has that name (stop it, or choose another)`,
        );
      }
    }
    const dir = boxDir(storeDir, record.id);
    await fs.mkdir(dir, { mode: 0o700 });
    await writeJson(join(dir, 'box.json'), record);
  };
  if (record.name === undefined) return register();
  return withFileLock(join(boxesDir(storeDir), '.names.lock'), register);
}

/**
 * A limit asked of a box where polythene can write no cgroup holds nothing: one warning where
 * `start` runs (the keeper's own goes to the box's log), as `exec` warns.
 */
export function warnIfLimitsCannotHold(isAsked: boolean, logger: Logger | undefined): void {
  if (!isAsked || logger === undefined) return;
  const hierarchies = findCgroupHierarchies();
  if (hierarchies.version !== 'none') return;
  logger.warn(`the box runs without limits (${hierarchies.reason ?? 'no writable cgroup here'})`);
}
