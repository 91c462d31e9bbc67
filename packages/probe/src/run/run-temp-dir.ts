import { lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Creates a private temporary directory `<tmpdir>/<prefix><pid>-XXXXXX` for one run, after
 * removing those a polythene that died (SIGKILL) left there with the same prefix: see
 * {@link sweepStaleRunTempDirs}.
 */
export function createRunTempDir(prefix: string): string {
  sweepStaleRunTempDirs(prefix);
  return mkdtempSync(join(tmpdir(), `${prefix}${process.pid}-`));
}

/**
 * Removes `<tmpdir>/<prefix><pid>-*` directories whose polythene is gone: only real
 * directories (never a symlink), owned by this user, whose pid no longer exists (a pid in use
 * again keeps its directory: a leftover is safer than removing a live run's). Returns how
 * many were removed; errors (another run removing the same one) are ignored.
 */
export function sweepStaleRunTempDirs(prefix: string, dir: string = tmpdir()): number {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  const uid = process.geteuid?.();
  const pattern = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\d+)-\\w{6}$`);
  let removed = 0;
  for (const name of names) {
    const match = pattern.exec(name);
    if (match === null || isAlive(Number(match[1]))) continue;
    const path = join(dir, name);
    try {
      const stat = lstatSync(path);
      if (!stat.isDirectory() || (uid !== undefined && stat.uid !== uid)) continue;
      rmSync(path, { recursive: true, force: true });
      removed += 1;
    } catch {
      // Gone already, or not ours to remove.
    }
  }
  return removed;
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, as another user's.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
