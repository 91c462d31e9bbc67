import { PolytheneError } from '@polythene/errors';

/** Options for {@link runCp}. */
export interface RunCpOptions {
  /** Working directory of cp (for relative sources). */
  cwd?: string;
}

/**
 * Runs GNU `cp` with `args` and rejects with `POLYTHENE_STORE_UNAVAILABLE` naming its stderr
 * on failure. `cp -a` is what copies a rootfs fastest and most faithfully here: it keeps hard
 * links, symlinks, modes, owners (as root), times, xattrs and device nodes, and with
 * `--reflink=auto` shares extents on filesystems that can (btrfs, xfs) — a walk in Node
 * cannot create device nodes or copy xattrs and is slower.
 */
export function runCp(args: readonly string[], options: RunCpOptions = {}): Promise<void> {
  // Loaded on first use, not with the module: `polythene exec` never needs it (see
  // spawnBackendProcess in @polythene/probe), and it costs ~4.5 ms of start-up.
  const { spawn } = process.getBuiltinModule('node:child_process');
  return new Promise((resolve, reject) => {
    const child = spawn('cp', args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      if (stderr.length < 4096) stderr += chunk;
    });
    child.on('error', (error) => {
      reject(
        new PolytheneError(
          'POLYTHENE_STORE_UNAVAILABLE',
          `cannot copy a root filesystem: cp could not be started (${error.message}); install GNU coreutils`,
          { cause: error },
        ),
      );
    });
    child.on('close', (code, signal) => {
      if (code === 0) {
        resolve();
        return;
      }
      const lines = stderr.trim().split('\n');
      const shown =
        lines.slice(0, 3).join(' | ') + (lines.length > 3 ? ` (+${lines.length - 3} more)` : '');
      reject(
        new PolytheneError(
          'POLYTHENE_STORE_UNAVAILABLE',
          `cannot copy a root filesystem: cp ${signal === null ? `exited ${code}` : `was killed by ${signal}`}: ${shown || 'no message'}; check that the store has space and that you own the files`,
        ),
      );
    });
  });
}

/**
 * Copies the tree `source` into the existing empty directory `target` (which takes the
 * source's mode, owner and times): `cp -a --reflink=auto -T`.
 */
export function copyTree(source: string, target: string): Promise<void> {
  return runCp(['-a', '--reflink=auto', '-T', '--', source, target]);
}
