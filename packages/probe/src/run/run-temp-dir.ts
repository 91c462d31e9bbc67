import { closeSync, lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPrivateDirectory } from '../open-private-directory.ts';

/**
 * Creates a private temporary directory `<prefix><pid>-XXXXXX` for one run, in this user's
 * own `<tmpdir>/polythene-runs-<uid>` (see {@link findRunsDir}), after removing those a
 * polythene that died (SIGKILL) left there with the same prefix: see
 * {@link sweepStaleRunTempDirs}.
 *
 * Why a directory per user: the sweep then lists a directory that holds only the runs going on
 * and what killed ones left, not the whole of `/tmp` (750 entries here: about 1 ms of `--network
 * host`'s start-up). Where that directory cannot be had (another user made one by that name),
 * the run's directory goes in `<tmpdir>` itself, as it used to.
 */
export function createRunTempDir(prefix: string): string {
  const parent = findRunsDir() ?? tmpdir();
  sweepStaleRunTempDirs(prefix, parent);
  return mkdtempSync(join(parent, `${prefix}${process.pid}-`));
}

/**
 * `<tmpdir>/polythene-runs-<uid>`, made 0700 when missing; undefined when it is not a
 * directory of this user's that no one else can change (see {@link openPrivateDirectory}).
 */
export function findRunsDir(): string | undefined {
  const path = join(tmpdir(), `polythene-runs-${process.geteuid?.() ?? 'user'}`);
  const opened = openPrivateDirectory(path, { create: true });
  if (!('fd' in opened)) return undefined;
  closeSync(opened.fd);
  return path;
}

/**
 * Removes `<dir>/<prefix><pid>-*` directories whose polythene is gone: only real
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
