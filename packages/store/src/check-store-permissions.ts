import { promises as fs } from 'node:fs';
import { resolve } from 'node:path';

/**
 * Warnings about an existing store that is not private to the caller: owned by another
 * user, or open to group/others (a store made by hand or by an older tool). Each warning
 * names the fix. An empty list means the store is private; a missing store gives none.
 */
export async function checkStorePermissions(dir: string): Promise<string[]> {
  const storeDir = resolve(dir);
  const stats = await fs.stat(storeDir).catch(() => undefined);
  if (stats === undefined) return [];
  const warnings: string[] = [];
  const uid = process.getuid?.();
  if (uid !== undefined && stats.uid !== uid) {
    warnings.push(
      `store ${storeDir} is owned by uid ${stats.uid}, not you (uid ${uid}): its owner can change what runs; pass --store DIR or set POLYTHENE_STORE to a directory of your own`,
    );
  }
  if ((stats.mode & 0o077) !== 0) {
    warnings.push(
      `store ${storeDir} is accessible to other users (mode ${(stats.mode & 0o777).toString(8)}): run \`chmod 700 ${storeDir}\``,
    );
  }
  return warnings;
}
