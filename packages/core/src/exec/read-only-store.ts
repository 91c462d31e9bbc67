import { access, constants } from 'node:fs/promises';
import { PolytheneError } from '@polythene/errors';

/** True when `path` is on a read-only mount (access(2) answers EROFS, even for root). */
export async function isOnReadOnlyMount(path: string): Promise<boolean> {
  try {
    await access(path, constants.W_OK);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EROFS';
  }
}

/**
 * Refuses, in one line, a run that must write into a read-only store: an overlay clone (its
 * upper layer and work dir are in the store; the kernel's overlay mount would fail with a
 * raw error) or `--ephemeral` (its throwaway layer is made in the store). A plain entry still
 * runs there, its writes failing as read-only inside the command.
 */
export async function assertStoreWritableFor(
  run: { kind: 'overlay-clone'; id: string; upperDir: string } | { kind: 'ephemeral' },
  storeDir: string,
): Promise<void> {
  const probed = run.kind === 'overlay-clone' ? run.upperDir : storeDir;
  if (!(await isOnReadOnlyMount(probed))) return;
  const what =
    run.kind === 'overlay-clone'
      ? `overlay clone ${run.id} keeps its changes in it: mount the store read-write to run the clone`
      : '--ephemeral makes its throwaway layer in it: mount the store read-write, or run without --ephemeral';
  throw new PolytheneError('POLYTHENE_SETUP_FAILED', `store ${storeDir} is read-only, and ${what}`);
}
