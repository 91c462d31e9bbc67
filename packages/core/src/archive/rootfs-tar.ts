import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { PolytheneError } from '@polythene/errors';
import { tarXattrArgs } from '@polythene/podman-export';
import { userNamespacePrefix } from '@polythene/store';

/** The directory the entry's tree sits under inside an archive. */
export const ROOTFS_MEMBER = 'rootfs';

/**
 * Starts GNU tar writing `rootfsDir` as members `rootfs/…` (pax format), sorted by name and
 * with numeric owners, so one tree always gives the same bytes (what makes a second `load` a no-op).
 * Symlink targets are left as they are; owners are in-box ids (an unprivileged user's tar runs
 * in its own user namespace, see `userNamespacePrefix`). `done` rejects with tar's first
 * error line.
 */
export function startRootfsTar(rootfsDir: string): { stdout: Readable; done: Promise<void> };
/** The same, written straight into the open file `outputFd` at its own offset. */
export function startRootfsTar(rootfsDir: string, outputFd: number): { done: Promise<void> };
export function startRootfsTar(
  rootfsDir: string,
  outputFd?: number,
): { stdout?: Readable | null; done: Promise<void> } {
  return startTreeTar(rootfsDir, { memberPrefix: ROOTFS_MEMBER, outputFd });
}

/**
 * GNU tar of `dir` as {@link startRootfsTar} writes it, with members under `memberPrefix`
 * (none: `./…`, as an image layer has them), into the pipe it returns or into `outputFd`.
 */
export function startTreeTar(
  dir: string,
  options: { memberPrefix?: string; outputFd?: number | undefined },
): { stdout?: Readable | null; done: Promise<void> } {
  const { memberPrefix, outputFd } = options;
  // Unprivileged: read inside the user's own namespace, so files of subordinate ids are read
  // and the archive holds in-box ids (issue 15).
  const [file = 'tar', ...head] = [...(userNamespacePrefix() ?? []), 'tar'];
  const child = spawn(
    file,
    [
      ...head,
      '--create',
      '--file=-',
      // pax keeps nanosecond mtimes; no atime/ctime and no pid in header names, so one
      // tree always gives the same bytes.
      '--format=posix',
      '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
      '--numeric-owner',
      '--sort=name',
      // What load and pull keep (user.*, file capabilities): the same set both ways.
      ...tarXattrArgs(true),
      // `.` → `rootfs`, `./etc` → `rootfs/etc`; hard-link targets too, symlink targets not.
      ...(memberPrefix === undefined ? [] : [`--transform=s,^\\.,${memberPrefix},S`]),
      `--directory=${dir}`,
      '.',
    ],
    { stdio: ['ignore', outputFd ?? 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } },
  );
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => {
    if (stderr.length < 4096) stderr += text;
  });
  const done = new Promise<void>((resolve, reject) => {
    child.once('error', (error) =>
      reject(
        new PolytheneError(
          'POLYTHENE_EXTRACT_FAILED',
          `cannot run tar (${error.message}); install the Debian package tar`,
          { cause: error },
        ),
      ),
    );
    child.once('close', (code) => {
      if (code === 0) resolve();
      else
        reject(
          new PolytheneError(
            'POLYTHENE_EXTRACT_FAILED',
            `tar could not read ${dir}: ${stderr.trim().split('\n')[0] || `exit ${code}`}`,
          ),
        );
    });
  });
  done.catch(() => undefined);
  return { stdout: child.stdout, done };
}
