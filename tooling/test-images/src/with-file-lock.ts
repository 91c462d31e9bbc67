// A private copy of the lock in @polythene/store (withFileLock): this package cannot depend on
// the store, whose own tests use these fixtures (turbo refuses the cycle).
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

const inProcessQueues = new Map<string, Promise<unknown>>();

/**
 * Runs `fn` while holding an exclusive lock on `lockPath`, across processes and within this one.
 *
 * The lock is a kernel `flock(2)` held by a child `flock` process whose stdin is a pipe from us:
 * when `fn` settles we close the pipe, and when this process dies (even SIGKILL) the kernel
 * closes it too, so a crashed holder never leaves a stale lock behind. Within one process
 * callers are queued first, because `flock` locks are per open file description and a second
 * child would simply wait too, but queueing avoids spawning it.
 */
export async function withFileLock<T>(lockPath: string, fn: () => Promise<T>): Promise<T> {
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
  await mkdir(dirname(lockPath), { recursive: true });
  // `cat` blocks on our pipe; `echo` tells us the lock is ours.
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
        new Error(`cannot lock ${lockPath}: ${error.message}; install util-linux (flock)`, {
          cause: error,
        }),
      ),
    );
    child.once('exit', (code) =>
      reject(new Error(`cannot lock ${lockPath}: flock exited ${code}: ${stderr.trim()}`)),
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
