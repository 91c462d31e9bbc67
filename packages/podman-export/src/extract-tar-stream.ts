import { execFile, spawn } from 'node:child_process';
import { lstat, readdir } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isPolytheneError, PolytheneError } from '@polythene/errors';
import { pickUsefulLine } from './pick-useful-line.ts';
import { TarMemberFilter } from './tar-member-filter.ts';
import { tarXattrArgs } from './tar-xattr-args.ts';

/** What an extraction did. */
export interface ExtractStats {
  /** Archive bytes read from the stream. */
  bytesRead: number;
  /** Members written into the target (files, directories, links). */
  filesExtracted: number;
  /** Device nodes and fifos dropped instead of created. */
  skippedSpecialFiles: number;
}

/** Options for {@link extractTarStream}. */
export interface ExtractTarStreamOptions {
  /** Stops the extraction: tar is killed and the promise rejects with the signal's reason. */
  abortSignal?: AbortSignal;
  /** Called after each member with the running counters (often: throttle in the caller). */
  onProgress?: (stats: Readonly<ExtractStats>) => void;
  /**
   * Keep the archive's numeric owners. Default: only when running as root. Without it the
   * files become the caller's and directories get owner `rwx`, so the caller can `rm -rf`
   * what it extracted (a non-root user cannot chown anyway).
   */
  preserveOwnership?: boolean;
  /**
   * An argv prefix that runs the extracting tar in a user namespace (for an unprivileged
   * caller: root of its own namespace with its subordinate ids mapped, such as
   * `unshare --map-user=0 --map-users=… --`). With it the archive's numeric owners are kept,
   * inside that namespace, so they land on disk shifted into the caller's subordinate range
   * (as rootless podman stores them); `preserveOwnership` then defaults to true.
   */
  userNamespacePrefix?: readonly string[];
}

const maxStderrBytes = 64 * 1024;

/**
 * Extracts a tar stream into `targetDir` (an existing, empty, real directory) without ever
 * writing outside it. Every member passes a {@link TarMemberFilter} first (absolute names,
 * `..`, writes through archive symlinks and hard links leaving the tree refuse the whole
 * archive; device nodes and fifos are dropped and counted) and then GNU `tar -x`, which also
 * defers symlinks with absolute or `..` targets to the end. Symlinks are kept as the image
 * has them. Modes are kept (setuid included: keep the parent private), and `user.*` extended
 * attributes, and file capabilities when owners are kept (see {@link tarXattrArgs}); owners
 * are kept as numeric ids as root, or inside the user namespace of
 * {@link ExtractTarStreamOptions.userNamespacePrefix}; otherwise, as non-root, they become
 * the caller's and directories gain owner `rwx` (see
 * {@link ExtractTarStreamOptions.preserveOwnership}). Memory use does not grow with
 * the archive size.
 *
 * @throws PolytheneError `POLYTHENE_EXTRACT_FAILED` for a refused or broken archive or a tar
 * failure (disk full, permissions) with tar's message; the abort reason when aborted
 * (`POLYTHENE_INTERRUPTED` unless the reason is a PolytheneError). The target may hold a
 * partial tree afterwards: the caller discards it.
 */
export async function extractTarStream(
  stream: Readable | NodeJS.ReadableStream,
  targetDir: string,
  options: ExtractTarStreamOptions = {},
): Promise<ExtractStats> {
  await assertEmptyDirectory(targetDir);
  await assertGnuTar();
  const signal = options.abortSignal;
  if (signal?.aborted) {
    throw toAbortError(signal.reason);
  }
  const prefix = options.userNamespacePrefix ?? [];
  const preserveOwnership =
    options.preserveOwnership ?? (process.getuid?.() === 0 || prefix.length > 0);
  const stats: ExtractStats = { bytesRead: 0, filesExtracted: 0, skippedSpecialFiles: 0 };
  const filter = new TarMemberFilter({
    makeDirectoriesOwnerWritable: !preserveOwnership,
    onMember: (filterStats) => {
      stats.bytesRead = filterStats.bytesRead;
      stats.filesExtracted = filterStats.membersPassed;
      stats.skippedSpecialFiles = filterStats.skippedSpecialFiles;
      options.onProgress?.(stats);
    },
  });
  const args = [
    '--extract',
    '--file=-',
    `--directory=${targetDir}`,
    '--numeric-owner',
    '--preserve-permissions',
    preserveOwnership ? '--same-owner' : '--no-same-owner',
    // user.* xattrs, and file capabilities where they can be set (see tarXattrArgs).
    ...tarXattrArgs(preserveOwnership),
    // A read-only directory listed before its files must not block them.
    '--delay-directory-restore',
    '--warning=no-unknown-keyword',
    '--warning=no-timestamp',
  ];
  const [file = 'tar', ...head] = [...prefix, 'tar'];
  const child = spawn(file, [...head, ...args], {
    stdio: ['pipe', 'ignore', 'pipe'],
    env: { ...process.env, LC_ALL: 'C' },
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => {
    if (stderr.length < maxStderrBytes) {
      stderr += text;
    }
  });
  const exited = new Promise<{ code: number | null; spawnError?: Error }>((resolve) => {
    child.once('error', (spawnError) => resolve({ code: null, spawnError }));
    child.once('close', (code) => resolve({ code }));
  });
  let pipeError: unknown;
  try {
    await pipeline(stream as Readable, filter, child.stdin, signal ? { signal } : {});
  } catch (error) {
    pipeError = error;
    // tar must not go on with a half-judged stream, and must not outlive us.
    child.kill('SIGKILL');
  }
  const { code, spawnError } = await exited;
  stats.bytesRead = filter.stats.bytesRead;
  stats.filesExtracted = filter.stats.membersPassed;
  stats.skippedSpecialFiles = filter.stats.skippedSpecialFiles;
  if (signal?.aborted) {
    throw toAbortError(signal.reason);
  }
  if (spawnError) {
    throw new PolytheneError(
      'POLYTHENE_EXTRACT_FAILED',
      `cannot run tar (${spawnError.message}); install the Debian package tar`,
      { cause: spawnError },
    );
  }
  if (isPolytheneError(pipeError)) {
    throw pipeError;
  }
  const tarLine = pickUsefulLine(stderr);
  if (code !== 0 && tarLine !== undefined) {
    // GNU tar reports a full disk as a short write without naming ENOSPC.
    const isDiskFull = /Wrote only \d+ of \d+ bytes|No space left/.test(tarLine);
    throw new PolytheneError(
      'POLYTHENE_EXTRACT_FAILED',
      isDiskFull
        ? `extracting into ${targetDir} failed: no space left on its filesystem (${tarLine}); free space or use another store`
        : `extracting into ${targetDir} failed: ${tarLine}`,
      { cause: pipeError },
    );
  }
  if (pipeError !== undefined) {
    const message = pipeError instanceof Error ? pipeError.message : String(pipeError);
    throw new PolytheneError(
      'POLYTHENE_EXTRACT_FAILED',
      `extracting into ${targetDir} failed: ${message}`,
      { cause: pipeError },
    );
  }
  if (code !== 0) {
    throw new PolytheneError(
      'POLYTHENE_EXTRACT_FAILED',
      `extracting into ${targetDir} failed: tar exited with status ${code}`,
    );
  }
  options.onProgress?.(stats);
  return stats;
}

function toAbortError(reason: unknown): PolytheneError {
  if (isPolytheneError(reason)) {
    return reason;
  }
  return new PolytheneError('POLYTHENE_INTERRUPTED', 'extraction was interrupted', {
    cause: reason,
  });
}

async function assertEmptyDirectory(targetDir: string): Promise<void> {
  let isDirectory = false;
  try {
    isDirectory = (await lstat(targetDir)).isDirectory();
  } catch (error) {
    throw new PolytheneError(
      'POLYTHENE_EXTRACT_FAILED',
      `extraction target ${targetDir} does not exist; create it (empty) first`,
      { cause: error },
    );
  }
  if (!isDirectory) {
    throw new PolytheneError(
      'POLYTHENE_EXTRACT_FAILED',
      `extraction target ${targetDir} is not a directory (or is a symlink); pass a real, empty directory`,
    );
  }
  // An empty target means every path tar touches came from this archive: a hard link can
  // only reach files the filter has already judged.
  if ((await readdir(targetDir)).length > 0) {
    throw new PolytheneError(
      'POLYTHENE_EXTRACT_FAILED',
      `extraction target ${targetDir} is not empty; pass a new, empty directory`,
    );
  }
}

let gnuTarCheck: Promise<void> | undefined;

// The safety argument relies on GNU tar's placeholders for dangerous symlinks; bsdtar and
// busybox tar behave differently, so refuse them instead of extracting less safely.
function assertGnuTar(): Promise<void> {
  gnuTarCheck ??= new Promise<void>((resolve, reject) => {
    execFile('tar', ['--version'], { env: { ...process.env, LC_ALL: 'C' } }, (error, stdout) => {
      if (error) {
        gnuTarCheck = undefined;
        reject(
          new PolytheneError(
            'POLYTHENE_EXTRACT_FAILED',
            `cannot run tar (${error.message}); install the Debian package tar (GNU tar)`,
            { cause: error },
          ),
        );
      } else if (!stdout.includes('GNU tar')) {
        reject(
          new PolytheneError(
            'POLYTHENE_EXTRACT_FAILED',
            'the tar on PATH is not GNU tar; install the Debian package tar and put it first on PATH',
          ),
        );
      } else {
        resolve();
      }
    });
  });
  return gnuTarCheck;
}
