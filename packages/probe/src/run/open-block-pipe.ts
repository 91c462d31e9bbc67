import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A pipe a sandbox blocks on until {@link BlockPipe.release} (bwrap's `--block-fd`). */
export interface BlockPipe {
  /** The fd to hand to the backend process. */
  readonly fd: number;
  /** Lets the blocked side go on (writes one byte). */
  release(): void;
  /** Closes our end. */
  close(): void;
}

/**
 * Opens a FIFO for reading and writing at once: the backend inherits the fd and blocks
 * reading it, and we write to the same fd to release it. Node has no pipe(2), and a FIFO
 * opened O_RDWR never blocks on open. `mkfifo` is coreutils. The FIFO's name and private
 * directory are removed as soon as it is open: the fd is all that is used, so nothing is
 * left in the temporary directory however polythene ends (SIGKILL included).
 */
export function openBlockPipe(): BlockPipe {
  const dir = mkdtempSync(join(tmpdir(), 'polythene-block-'));
  let fd: number;
  try {
    const path = join(dir, 'fifo');
    // Loaded here, not at the top: the exec hot path never loads node:child_process.
    const { execFileSync } = process.getBuiltinModule('node:child_process');
    execFileSync('mkfifo', ['-m', '600', path], { stdio: 'ignore' });
    fd = openSync(path, 'r+');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  let isOpen = true;
  return {
    fd,
    release() {
      // One byte for bwrap's --block-fd, which reads one; a line for a shell's `read`.
      if (isOpen) writeSync(fd, '\n');
    },
    close() {
      if (!isOpen) return;
      isOpen = false;
      closeSync(fd);
    },
  };
}
