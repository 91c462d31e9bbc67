import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { dirname } from 'node:path';
import { PolytheneError } from '@polythene/errors';

const inProcessQueues = new Map<string, Promise<unknown>>();

/**
 * Runs `fn` while holding an exclusive lock on `lockPath` (created, with its directory, when
 * missing), across processes (vitest's workers, concurrent pulls) and within this one.
 *
 * The lock is a kernel `flock(2)` held by a child `flock` process whose stdin is a pipe from
 * us: when `fn` settles we close the pipe, and when this process dies (even of SIGKILL) the
 * kernel closes it too, so a crashed holder never leaves a stale lock behind.
 */
export async function withFileLock<T>(lockPath: string, fn: () => Promise<T>): Promise<T> {
  // flock locks belong to open file descriptions: a second child of ours would just wait
  // too, so callers in this process queue here instead of spawning one each.
  const previous = inProcessQueues.get(lockPath) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(() => holdFileLock(lockPath, fn));
  const tail = run.catch(() => undefined);
  inProcessQueues.set(lockPath, tail);
  try {
    return await run;
  } finally {
    if (inProcessQueues.get(lockPath) === tail) inProcessQueues.delete(lockPath);
  }
}

async function holdFileLock<T>(lockPath: string, fn: () => Promise<T>): Promise<T> {
  await fs.mkdir(dirname(lockPath), { recursive: true });
  // `echo` tells us the lock is ours; `cat` then blocks on our pipe until we close it.
  const child = spawn('flock', ['--exclusive', lockPath, 'sh', '-c', 'echo locked; exec cat'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdout.once('data', () => resolve());
    child.once('error', (error) =>
      reject(
        new PolytheneError(
          'POLYTHENE_STORE_UNAVAILABLE',
          `cannot lock ${lockPath}: ${error.message}; install util-linux (it provides flock)`,
          { cause: error },
        ),
      ),
    );
    child.once('exit', (code) =>
      reject(
        new PolytheneError(
          'POLYTHENE_STORE_UNAVAILABLE',
          `cannot lock ${lockPath}: flock exited ${code}: ${stderr.trim()}; check that the store is writable`,
        ),
      ),
    );
  });
  child.stdout.resume();
  try {
    return await fn();
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.stdin.end();
    await exited;
  }
}
