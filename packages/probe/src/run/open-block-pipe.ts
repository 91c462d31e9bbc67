import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A pipe a sandbox blocks on until {@link BlockPipe.release} (bwrap's `--block-fd`). */
export interface BlockPipe {
  /** The fd to hand to the backend process. */
  readonly fd: number;
  /** Lets the blocked side go on (writes one byte). */
  release(): void;
  /** Closes our end and removes the FIFO's private directory. */
  close(): void;
}

/**
 * Opens a FIFO in a fresh private directory for reading and writing at once: the backend
 * inherits the fd and blocks reading it, and we write to the same fd to release it. Node has
 * no pipe(2), and a FIFO opened O_RDWR never blocks on open. `mkfifo` is coreutils.
 */
export function openBlockPipe(): BlockPipe {
  const dir = mkdtempSync(join(tmpdir(), 'polythene-block-'));
  try {
    const path = join(dir, 'fifo');
    // Loaded here, not at the top: the exec hot path never loads node:child_process.
    const { execFileSync } = process.getBuiltinModule('node:child_process');
    execFileSync('mkfifo', ['-m', '600', path], { stdio: 'ignore' });
    const fd = openSync(path, 'r+');
    let isOpen = true;
    return {
      fd,
      release() {
        if (isOpen) writeSync(fd, '1');
      },
      close() {
        if (!isOpen) return;
        isOpen = false;
        closeSync(fd);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
