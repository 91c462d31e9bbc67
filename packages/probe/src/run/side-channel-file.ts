import { closeSync, constants, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/**
 * An unlinked scratch file shared with a backend process as one of its extra fds: the way
 * to hand it arguments (bwrap's `--args`) or let it report status (`--json-status-fd`)
 * without a pipe. A pipe costs a socket pair and a stream object per fd on every spawn and
 * must be drained while the backend runs; a file is read once, when its contents are needed.
 */
export interface SideChannelFile {
  /** The open file descriptor (read-write, offset 0) to pass to the backend process. */
  readonly fd: number;
  /** Everything written to the file so far, read from the start without moving the offset. */
  readText(): string;
  /** Closes the descriptor; safe to call twice. */
  close(): void;
}

// Memory-backed first: arguments may carry environment values, which must never reach a disk.
// The directory that worked last time comes first; node:os (for the temp dir) is loaded only
// when the others fail, as exec's start-up never needs it otherwise.
function* candidateDirs(): Generator<string | undefined> {
  if (chosenDir !== undefined) yield chosenDir;
  yield '/dev/shm';
  yield process.env.XDG_RUNTIME_DIR;
  yield process.getBuiltinModule('node:os').tmpdir();
}
let chosenDir: string | undefined;
let sequence = 0;

/**
 * Creates a side-channel file holding `contents`, in `/dev/shm` where it is writable (else
 * `$XDG_RUNTIME_DIR`, else the temp dir). It has no name by the time this returns (see
 * {@link createUnlinkedFile}), so nothing is left behind whatever happens to the run, and no
 * other process can open it by path.
 */
export function openSideChannelFile(contents?: string): SideChannelFile {
  const fd = createUnlinkedFile({ allowUnnamed: true });
  let isClosed = false;
  if (contents !== undefined && contents !== '') {
    const bytes = Buffer.from(contents);
    // Positional writes leave the offset at 0, where the backend starts reading.
    let written = 0;
    while (written < bytes.length) {
      written += writeSync(fd, bytes, written, bytes.length - written, written);
    }
  }
  return {
    fd,
    readText() {
      if (isClosed) return '';
      const chunks: Buffer[] = [];
      let position = 0;
      for (;;) {
        const chunk = Buffer.allocUnsafe(4096);
        const count = readSync(fd, chunk, 0, chunk.length, position);
        if (count === 0) break;
        chunks.push(chunk.subarray(0, count));
        position += count;
      }
      return Buffer.concat(chunks).toString('utf8');
    },
    close() {
      if (isClosed) return;
      isClosed = true;
      closeSync(fd);
    },
  };
}

// Linux's O_TMPFILE, which Node does not export: a file created without any name, and with
// O_EXCL it can never be given one. Faster than creating a name and unlinking it, and never
// visible at all. The value (__O_TMPFILE | O_DIRECTORY) is the generic one on these
// architectures; elsewhere, and on filesystems without it, the file gets a random name that
// is unlinked at once.
const unnamedFileArchitectures = ['x64', 'arm64', 'arm', 'ia32', 'riscv64', 'ppc64', 's390x'];
const unnamedFileFlags =
  process.platform === 'linux' && unnamedFileArchitectures.includes(process.arch)
    ? constants.O_RDWR | constants.O_EXCL | constants.O_DIRECTORY | 0o20000000
    : undefined;
// The errors of a kernel or filesystem without O_TMPFILE.
const unnamedFileRefusals = new Set(['EOPNOTSUPP', 'ENOTSUP', 'EISDIR', 'EINVAL']);

/**
 * Opens a read-write file that no path names, in the first usable candidate directory:
 * unnamed from the start where `allowUnnamed` and the system allow, else created under a
 * random name (`O_EXCL` refuses a planted file or symlink) and unlinked at once. Exported for
 * tests, which exercise both ways.
 */
export function createUnlinkedFile(options: { allowUnnamed: boolean }): number {
  let lastError: unknown;
  for (const dir of candidateDirs()) {
    if (dir === undefined || dir === '') continue;
    try {
      const fd =
        options.allowUnnamed && unnamedFileFlags !== undefined
          ? openUnnamedFile(dir, unnamedFileFlags)
          : openNamedThenUnlink(dir);
      chosenDir = dir;
      return fd;
    } catch (error) {
      // ENOENT, ENOTDIR, EACCES, EROFS…: try the next directory.
      lastError = error;
    }
  }
  chosenDir = undefined;
  throw new Error(
    `cannot create a scratch file in /dev/shm or the temp dir: ${String(lastError ?? 'none is writable')}`,
  );
}

function openUnnamedFile(dir: string, flags: number): number {
  try {
    return openSync(dir, flags, 0o600);
  } catch (error) {
    // Without O_TMPFILE here: a named file in the same directory.
    if (unnamedFileRefusals.has((error as NodeJS.ErrnoException).code ?? '')) {
      return openNamedThenUnlink(dir);
    }
    throw error;
  }
}

// `O_EXCL` refuses a planted file or symlink; a name clash is tried again with another name.
function openNamedThenUnlink(dir: string): number {
  for (let attempt = 1; ; attempt += 1) {
    sequence += 1;
    const name = `polythene-${process.pid}-${sequence}-${Math.random().toString(36).slice(2, 10)}`;
    const path = join(dir, name);
    try {
      const fd = openSync(path, 'wx+', 0o600);
      unlinkSync(path);
      return fd;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt === 8) throw error;
    }
  }
}
