import { closeSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
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
 * `$XDG_RUNTIME_DIR`, else the temp dir). The name is removed before this returns, so
 * nothing is left behind whatever happens to the run, and no other process can open it by
 * path; `O_EXCL` refuses a planted file or symlink.
 */
export function openSideChannelFile(contents?: string): SideChannelFile {
  const fd = createUnlinkedFile();
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

function createUnlinkedFile(): number {
  let lastError: unknown;
  for (const dir of candidateDirs()) {
    if (dir === undefined || dir === '') continue;
    for (let attempt = 0; attempt < 8; attempt += 1) {
      sequence += 1;
      const name = `polythene-${process.pid}-${sequence}-${Math.random().toString(36).slice(2, 10)}`;
      const path = join(dir, name);
      try {
        const fd = openSync(path, 'wx+', 0o600);
        unlinkSync(path);
        chosenDir = dir;
        return fd;
      } catch (error) {
        lastError = error;
        // EEXIST: a name clash, try another; anything else (ENOENT, ENOTDIR, EACCES, EROFS):
        // try the next directory.
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') break;
      }
    }
  }
  chosenDir = undefined;
  throw new Error(
    `cannot create a scratch file in /dev/shm or the temp dir: ${String(lastError ?? 'none is writable')}`,
  );
}
