import { PolytheneError } from '@polythene/errors';
import { userNamespacePrefix } from './user-namespace-prefix.ts';

// GNU tar archives a tree through directory descriptors (openat with O_NOFOLLOW below the
// directory it opened), where cp -a opens every source path from the root of the copy: a
// command still running in the source could swap a directory for a symlink to a host
// directory and have cp copy host files into the copy. pax keeps nanosecond times (diffs
// compare them), --xattrs and --acls keep what cp -a keeps, --sparse keeps holes.
const ARCHIVE_ARGS = [
  '--create',
  '--file=-',
  '--format=posix',
  '--numeric-owner',
  '--xattrs',
  '--xattrs-include=*',
  '--acls',
  '--sparse',
  '--warning=no-file-ignored',
  '--warning=no-file-changed',
  '--warning=no-file-removed',
  '.',
];
const EXTRACT_ARGS = [
  '--extract',
  '--file=-',
  '--numeric-owner',
  '--preserve-permissions',
  '--xattrs',
  '--xattrs-include=*',
  '--acls',
  '--delay-directory-restore',
  '--warning=no-unknown-keyword',
  '--warning=no-timestamp',
];

/**
 * Copies the tree `source` into the existing empty directory `target` (which takes the
 * source's mode, owner and times): a GNU tar pipe (`tar -C source -c . | tar -C target -x`),
 * which keeps hard links, symlinks, modes, owners (as root), nanosecond mtimes, xattrs, ACLs,
 * sparse files and device nodes, and never follows a symlink a command swaps into the source
 * while it is copied (unlike `cp -a`, which looks every source path up from the top). An
 * unprivileged user with a subordinate range runs both tars as root of its own user
 * namespace ({@link userNamespacePrefix}): files of the image's ids (stored shifted into the
 * range, some unreadable to the user itself) are read and keep their owners. Rejects with
 * `POLYTHENE_STORE_UNAVAILABLE` naming tar's message on failure.
 */
export function copyTree(source: string, target: string): Promise<void> {
  const { spawn } = process.getBuiltinModule('node:child_process');
  const isRoot = process.getuid?.() === 0;
  const prefix = isRoot ? undefined : userNamespacePrefix();
  const keepsOwners = isRoot || prefix !== undefined;
  const [file = 'tar', ...head] = [...(prefix ?? []), 'tar'];
  return new Promise((resolvePromise, reject) => {
    const archive = spawn(file, [...head, '-C', source, ...ARCHIVE_ARGS], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const extract = spawn(
      file,
      [...head, '-C', target, ...EXTRACT_ARGS, keepsOwners ? '--same-owner' : '--no-same-owner'],
      { stdio: ['pipe', 'ignore', 'pipe'] },
    );
    archive.stdout.pipe(extract.stdin);
    // A failed extraction closes its end: the archiver then dies of EPIPE, reported below.
    extract.stdin.on('error', () => undefined);
    const messages: string[] = [];
    for (const child of [archive, extract]) {
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (chunk: string) => {
        if (messages.join('').length < 4096) messages.push(chunk);
      });
    }
    let failed: PolytheneError | undefined;
    const done = new Set<string>();
    const settle = (who: string, exitCode: number | null, signal: NodeJS.Signals | null): void => {
      // Once per child: a child that cannot start may report both `error` and `close`.
      if (done.has(who)) return;
      done.add(who);
      // The archiver's 1 means files changed while they were read (a command still running
      // in the source): the copy is as consistent as cp's would be.
      const code = who === 'archiving' && exitCode === 1 ? 0 : exitCode;
      if (code !== 0 && failed === undefined) {
        const lines = messages.join('').trim().split('\n').filter(Boolean);
        const shown =
          lines.slice(0, 3).join(' | ') + (lines.length > 3 ? ` (+${lines.length - 3} more)` : '');
        failed = new PolytheneError(
          'POLYTHENE_STORE_UNAVAILABLE',
          `cannot copy a root filesystem: tar (${who}) ${signal === null ? `exited ${code}` : `was killed by ${signal}`}: ${shown || 'no message'}; check that the store has space and that you own the files`,
        );
      }
      if (code !== 0) {
        archive.kill();
        extract.kill();
      }
      if (done.size < 2) return;
      if (failed === undefined) resolvePromise();
      else reject(failed);
    };
    const onSpawnError = (who: string, error: Error): void => {
      failed ??= new PolytheneError(
        'POLYTHENE_STORE_UNAVAILABLE',
        `cannot copy a root filesystem: tar could not be started (${error.message}); install the Debian package tar (GNU tar)`,
        { cause: error },
      );
      settle(who, null, null);
    };
    archive.on('error', (error) => onSpawnError('archiving', error));
    extract.on('error', (error) => onSpawnError('extracting', error));
    archive.on('close', (code, signal) => settle('archiving', code, signal));
    extract.on('close', (code, signal) => settle('extracting', code, signal));
  });
}
