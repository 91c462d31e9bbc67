import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { getSystemErrorName } from 'node:util';

/** The part of Node's `ChildProcess` the supervisor uses. */
export interface SupervisedChild {
  readonly pid?: number | undefined;
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  readonly stdio: ChildProcess['stdio'];
  on(
    event: 'exit' | 'close',
    listener: (code: number | null, signal: NodeJS.Signals | null) => void,
  ): unknown;
  on(event: 'error', listener: (error: NodeJS.ErrnoException) => void): unknown;
}

/** What {@link spawnBackendProcess} starts. */
export interface BackendSpawnOptions {
  /** Absolute path of the binary. */
  readonly file: string;
  readonly args: readonly string[];
  /** The complete environment: nothing else is merged in. */
  readonly env: Readonly<Record<string, string>>;
  /**
   * The child's fds in order: `'pipe'` for a stream polythene reads or writes, a number for
   * one of our fds the child gets as is (0, 1, 2 to pass our own stdio through).
   */
  readonly stdio: readonly ('pipe' | number)[];
}

/**
 * Starts a backend process in its own session and process group (`detached`), with `/` as
 * its working directory.
 *
 * When no stdio is a pipe (the CLI's normal case), it is spawned straight through libuv's
 * process handle instead of `node:child_process`: loading that module pulls in net, dgram and
 * the streams, about 4.5 ms of every `polythene exec`'s start-up, and a process with
 * inherited fds needs none of it. Node keeps that handle on the `process.binding` allow-list;
 * where it is missing, blocked (`--permission`) or would print a deprecation warning
 * (`--pending-deprecation`), and whenever a pipe is asked for, `node:child_process` runs it.
 * Both behave alike: `'error'` (asynchronously) when the binary cannot start, else `'exit'`
 * with code and signal, then `'close'`.
 */
export function spawnBackendProcess(options: BackendSpawnOptions): SupervisedChild {
  const ProcessHandle = options.stdio.includes('pipe') ? null : loadProcessHandle();
  if (ProcessHandle === null) {
    const { spawn } = process.getBuiltinModule('node:child_process');
    return spawn(options.file, [...options.args], {
      // A copy, so nothing (not even node's own defaults) is merged in.
      env: { ...options.env },
      stdio: [...options.stdio],
      cwd: '/',
      detached: true,
    });
  }
  return spawnThroughProcessHandle(ProcessHandle, options);
}

/** libuv's process handle as Node's own child_process drives it. */
interface ProcessHandle {
  pid?: number;
  onexit: (exitCode: number, signalName: string) => void;
  spawn(options: {
    file: string;
    args: string[];
    cwd: string;
    envPairs: string[];
    stdio: { type: 'fd'; fd: number }[];
    detached: boolean;
  }): number;
  close(): void;
}
type ProcessHandleClass = new () => ProcessHandle;

let cachedProcessHandle: ProcessHandleClass | null | undefined;

/** The process handle class, or null where it must not or cannot be used. */
function loadProcessHandle(): ProcessHandleClass | null {
  if (cachedProcessHandle !== undefined) return cachedProcessHandle;
  cachedProcessHandle = null;
  const binding = (process as { binding?: (name: string) => unknown }).binding;
  // Under --pending-deprecation Node wraps process.binding in a function named `deprecated`
  // that warns on every call; a warning on our stderr would be worse than 4 ms.
  if (typeof binding !== 'function' || binding.name !== 'binding') return null;
  try {
    const { Process } = binding.call(process, 'process_wrap') as { Process?: unknown };
    if (typeof Process === 'function') cachedProcessHandle = Process as ProcessHandleClass;
  } catch {
    // Not on the allow-list, or access denied by the permission model.
  }
  return cachedProcessHandle;
}

class FdOnlyChild extends EventEmitter {
  pid: number | undefined = undefined;
  readonly stdin = null;
  readonly stdout = null;
  readonly stderr = null;
  readonly stdio = [null, null, null] as unknown as ChildProcess['stdio'];
}

function spawnThroughProcessHandle(
  ProcessHandle: ProcessHandleClass,
  options: BackendSpawnOptions,
): SupervisedChild {
  const argv = [options.file, ...options.args];
  const envPairs = Object.entries(options.env).map(([key, value]) => `${key}=${value}`);
  // The native side reads C strings: a NUL would silently cut an argument short. Node's
  // spawn refuses such strings, and so do we.
  if ([...argv, ...envPairs].some((text) => text.includes('\0'))) {
    throw new TypeError(`${options.file}: an argument or environment entry contains a NUL byte`);
  }
  const child = new FdOnlyChild();
  const handle = new ProcessHandle();
  handle.onexit = (exitCode, signalName) => {
    handle.close();
    const signal = signalName === '' ? null : (signalName as NodeJS.Signals);
    const code = signal === null ? exitCode : null;
    child.emit('exit', code, signal);
    // No streams to wait for: closed as soon as it exited.
    child.emit('close', code, signal);
  };
  const errno = handle.spawn({
    file: options.file,
    args: argv,
    cwd: '/',
    envPairs,
    stdio: options.stdio.map((fd) => ({ type: 'fd', fd: fd as number })),
    detached: true,
  });
  if (errno !== 0) {
    handle.close();
    const code = getSystemErrorName(errno);
    const error: NodeJS.ErrnoException = new Error(`spawn ${options.file} ${code}`);
    Object.assign(error, { errno, code, syscall: `spawn ${options.file}`, path: options.file });
    // Asynchronous, as child_process reports it: listeners are attached after the call.
    process.nextTick(() => child.emit('error', error));
    return child;
  }
  child.pid = handle.pid;
  return child;
}
