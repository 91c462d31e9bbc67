import type { Stats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { errorCode } from './system-error.ts';

/** What {@link measureTree} found. */
export interface TreeMeasurement {
  /** Apparent size in bytes of every non-directory below the root (symlinks count their target's length; hard links once). */
  sizeBytes: number;
  /** Number of non-directory entries below the root: files, symlinks, fifos, sockets, devices. */
  fileCount: number;
}

const STAT_BATCH_SIZE = 64;

/**
 * Measures a tree without following symlinks. Directories that cannot be read are skipped
 * (their contents are not counted) rather than failing the measurement.
 */
export async function measureTree(path: string): Promise<TreeMeasurement> {
  const seenInodes = new Set<string>();
  const total: TreeMeasurement = { sizeBytes: 0, fileCount: 0 };
  const pending: string[] = [path];
  while (pending.length > 0) {
    const dir = pending.pop() as string;
    const names = await readdir(dir).catch((error: unknown) => {
      if (
        errorCode(error) === 'EACCES' ||
        errorCode(error) === 'ENOENT' ||
        errorCode(error) === 'ENOTDIR'
      )
        return [];
      throw error;
    });
    for (let start = 0; start < names.length; start += STAT_BATCH_SIZE) {
      const batch = names.slice(start, start + STAT_BATCH_SIZE).map((name) => join(dir, name));
      const stats = await Promise.all(batch.map((child) => lstat(child).catch(() => undefined)));
      stats.forEach((childStats: Stats | undefined, index) => {
        if (childStats === undefined) return;
        if (childStats.isDirectory()) {
          pending.push(batch[index] as string);
          return;
        }
        total.fileCount += 1;
        if (childStats.nlink > 1) {
          const key = `${childStats.dev}:${childStats.ino}`;
          if (seenInodes.has(key)) return;
          seenInodes.add(key);
        }
        total.sizeBytes += childStats.size;
      });
    }
  }
  return total;
}
