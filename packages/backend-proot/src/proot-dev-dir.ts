import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { resolveProbeCachePath } from '@polythene/probe';
import { PROOT_DEVICES } from './build-proot-args.ts';

/** The directory proot binds at the command's `/dev`, for one run. */
export interface ProotDevDir {
  readonly path: string;
  /** Removes it; call once the run has ended. */
  release(): void;
}

/**
 * Makes the `/dev` a proot command sees: a host directory holding the `/proc/self/fd` links
 * (`fd`, `stdin`, `stdout`, `stderr`) and an empty file for each device, on which the host's
 * device is bound. Without it, `/dev` is the image's own directory: a write to `/dev/stderr`
 * that proot could not bind (stderr is a socket when polythene reads it) would create a file
 * in the image, and proot would make a temporary "glue" directory for every device, left in
 * /tmp whenever proot is killed.
 *
 * One for each run, because proot's emulated root may write into any directory the user owns
 * (it lifts the permission bits it would need), so what one command writes under `/dev` must
 * not be seen by the next. They live under `proot-dev/` beside the probe cache, named after
 * the polythene process, and a run removes those of processes that are gone (killed before
 * they could clean up). Where the cache directory cannot be written, the temp dir is used.
 */
export function openProotDevDir(
  env: Readonly<Record<string, string | undefined>> = process.env,
): ProotDevDir {
  let path: string;
  try {
    const parent = join(dirname(resolveProbeCachePath(env)), 'proot-dev');
    mkdirSync(parent, { recursive: true, mode: 0o700 });
    removeDirsOfGoneProcesses(parent);
    path = makeDevDir(join(parent, `${process.pid}-`));
  } catch {
    path = makeDevDir(join(env.TMPDIR || '/tmp', `polythene-proot-dev-${process.pid}-`));
  }
  return { path, release: () => removeDevDir(path) };
}

function removeDirsOfGoneProcesses(parent: string): void {
  for (const name of readdirSync(parent)) {
    const pid = Number(name.slice(0, name.indexOf('-')));
    if (Number.isInteger(pid) && pid > 0 && !isRunning(pid)) removeDevDir(join(parent, name));
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function makeDevDir(prefix: string): string {
  const path = mkdtempSync(prefix);
  try {
    symlinkSync('/proc/self/fd', join(path, 'fd'));
    symlinkSync('/proc/self/fd/0', join(path, 'stdin'));
    symlinkSync('/proc/self/fd/1', join(path, 'stdout'));
    symlinkSync('/proc/self/fd/2', join(path, 'stderr'));
    for (const device of PROOT_DEVICES) {
      writeFileSync(join(path, basename(device)), '', { mode: 0o444 });
    }
    // Read-only, as /dev is to a command that is not root (proot's emulated root is).
    chmodSync(path, 0o555);
    return path;
  } catch (error) {
    removeDevDir(path);
    throw error;
  }
}

function removeDevDir(path: string): void {
  try {
    // chmod follows links: only ever make a real directory writable again.
    if (lstatSync(path).isDirectory()) chmodSync(path, 0o700);
  } catch {
    // Gone already.
  }
  rmSync(path, { recursive: true, force: true });
}
