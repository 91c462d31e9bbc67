import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { newEntryId } from './entry-id.ts';
import { removeTree } from './remove-tree.ts';
import { scratchName } from './store-names.ts';

/**
 * A throwaway overlayfs upper layer over an entry, for a run whose changes must vanish
 * (`exec --ephemeral`, testkit boxes). Mount it as `lowerdir=lowerDirs.join(':'),
 * upperdir=upperDir,workdir=workDir`. Lives in `<store>/.scratch-<uuid>.<pid>/` until
 * `dispose` (or `await using`); a leftover of a dead process is removed by
 * `clearStaleTemporaries` and `prune`. While it exists, the entry and its lowers cannot be
 * removed.
 */
export interface ScratchLayer extends AsyncDisposable {
  /** The empty upper layer (`<scratch>/upper`), its root carrying the entry root's mode and owner. */
  readonly upperDir: string;
  /** The overlayfs work directory (`<scratch>/work`), on the same filesystem as `upperDir`. */
  readonly workDir: string;
  /** The lower layers, top-most first, as overlayfs `lowerdir=` wants them. */
  readonly lowerDirs: string[];
  /** Deletes the scratch directory; safe to call more than once. */
  dispose(): Promise<void>;
}

/**
 * A throwaway full copy of an entry (for backends that cannot mount overlayfs), in
 * `<store>/.scratch-<uuid>.<pid>/rootfs` until `dispose`.
 */
export interface ScratchCopy extends AsyncDisposable {
  /** The copied root filesystem. */
  readonly rootfs: string;
  /** Deletes the copy; safe to call more than once. */
  dispose(): Promise<void>;
}

/** Name of the file in a scratch directory listing the entries it depends on, one per line. */
export const SCRATCH_LOWERS_FILE = 'lower-ids';

/** Creates `<storeDir>/.scratch-<uuid>.<pid>` recording `lowerIds`; returns its path. */
export async function createScratchDir(
  storeDir: string,
  lowerIds: readonly string[],
): Promise<string> {
  const path = join(storeDir, scratchName(newEntryId(), process.pid));
  await fs.mkdir(path, { mode: 0o700 });
  if (lowerIds.length > 0)
    await fs.writeFile(join(path, SCRATCH_LOWERS_FILE), `${lowerIds.join('\n')}\n`, {
      mode: 0o600,
    });
  return path;
}

/**
 * Creates the directory `path` as an overlay upper root for a merged view whose root is
 * `mergedRoot`: overlayfs shows the upper root's own mode, owner and times, so they are
 * copied from the lower root (owner only as root; an unprivileged user owns both anyway).
 */
export async function createUpperRoot(path: string, mergedRoot: string): Promise<void> {
  const stats = await fs.lstat(mergedRoot);
  await fs.mkdir(path, { mode: 0o700 });
  if (process.getuid?.() === 0) await fs.lchown(path, stats.uid, stats.gid);
  await fs.chmod(path, stats.mode & 0o7777);
  await fs.utimes(path, stats.atime, stats.mtime);
}

/** Makes a disposer that removes `path` once. */
export function disposerFor(path: string): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => {
    done ??= removeTree(path);
    return done;
  };
}
