import { EventEmitter } from 'node:events';
import type { Writable } from 'node:stream';
import { getSystemErrorName } from 'node:util';

/** The part of a readable stream the supervisor uses: a child's stdout or stderr. */
export interface ChildOutput {
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  /** Stops reading for now (back-pressure): the child blocks once the pipe is full. */
  pause(): unknown;
  /** Reads again after {@link ChildOutput.pause}. */
  resume(): unknown;
  /** Stops reading and closes polythene's end. */
  destroy(): unknown;
}

/** The part of Node's `ChildProcess` the supervisor uses. */
export interface SupervisedChild {
  readonly pid?: number | undefined;
  readonly stdin: Writable | null;
  readonly stdout: ChildOutput | null;
  readonly stderr: ChildOutput | null;
  /** Every stream polythene holds to the child (null for an fd passed as is). */
  readonly stdio: readonly ({ destroy(): unknown } | null | undefined)[];
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
 * Unless stdin or an extra fd is a pipe (only the API's `stdio: 'pipe'` with `input`), it is spawned
 * straight through libuv's process handle instead of `node:child_process`: loading that module
 * pulls in net, dgram and the streams, about 4.5 ms of every `polythene exec`'s start-up, plus
 * 2 ms to set up a piped stream, and the CLI needs none of it. Inherited fds are passed as
 * they are; a pipe for stdout or stderr (proot's stderr, which polythene filters) is read
 * through the pipe handle itself. Node keeps those handles on the `process.binding`
 * allow-list; where one is missing, blocked (`--permission`), shaped differently, or would
 * print a deprecation warning (`--pending-deprecation`), `node:child_process` runs it. Both
 * behave alike: `'error'` (asynchronously) when the binary cannot start, else `'exit'` with
 * code and signal, then `'close'` once every output pipe has ended.
 */
export function spawnBackendProcess(options: BackendSpawnOptions): SupervisedChild {
  const needsOutputPipesOnly = options.stdio.every(
    (fd, index) => fd !== 'pipe' || index === 1 || index === 2,
  );
  const handles = needsOutputPipesOnly ? loadHandles(options.stdio.includes('pipe')) : undefined;
  if (handles === undefined) {
    const { spawn } = process.getBuiltinModule('node:child_process');
    return spawn(options.file, [...options.args], {
      // A copy, so nothing (not even node's own defaults) is merged in.
      env: { ...options.env },
      stdio: [...options.stdio],
      cwd: '/',
      detached: true,
    });
  }
  return spawnThroughProcessHandle(handles, options);
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
    stdio: ({ type: 'fd'; fd: number } | { type: 'pipe'; handle: PipeHandle })[];
    detached: boolean;
  }): number;
  close(): void;
}
type ProcessHandleClass = new () => ProcessHandle;

/**
 * libuv's pipe handle as Node's streams drive it: after `readStart`, `onread` gets each
 * chunk's buffer while the byte count (negative at the end or on an error) and the chunk's
 * offset wait in the shared `streamBaseState` array.
 */
interface PipeHandle {
  onread: (buffer: ArrayBuffer | undefined) => void;
  readStart(): number;
  readStop(): number;
  close(): void;
}
type PipeHandleClass = new (type: number) => PipeHandle;

interface StreamState {
  readonly state: Int32Array;
  readonly bytesOrErrorIndex: number;
  readonly offsetIndex: number;
}

interface Handles {
  readonly Process: ProcessHandleClass;
  /** Present when output pipes were asked for. */
  readonly pipes?: { readonly Pipe: PipeHandleClass; readonly socketType: number } & StreamState;
}

let cachedProcessHandle: ProcessHandleClass | null | undefined;
let cachedPipes: Handles['pipes'] | null | undefined;

/** The handle classes, or undefined where they must not or cannot be used. */
function loadHandles(withPipes: boolean): Handles | undefined {
  cachedProcessHandle ??= loadBinding((binding) => {
    const { Process } = binding('process_wrap') as { Process?: unknown };
    return typeof Process === 'function' ? (Process as ProcessHandleClass) : null;
  });
  if (cachedProcessHandle === null) return undefined;
  if (!withPipes) return { Process: cachedProcessHandle };
  cachedPipes ??= loadBinding((binding) => {
    const { Pipe, constants } = binding('pipe_wrap') as {
      Pipe?: unknown;
      constants?: { SOCKET?: unknown };
    };
    const { streamBaseState, kReadBytesOrError, kArrayBufferOffset } = binding('stream_wrap') as {
      streamBaseState?: unknown;
      kReadBytesOrError?: unknown;
      kArrayBufferOffset?: unknown;
    };
    const isShapedAsExpected =
      typeof Pipe === 'function' &&
      typeof constants?.SOCKET === 'number' &&
      streamBaseState instanceof Int32Array &&
      typeof kReadBytesOrError === 'number' &&
      typeof kArrayBufferOffset === 'number';
    if (!isShapedAsExpected) return null;
    return {
      Pipe: Pipe as PipeHandleClass,
      socketType: constants.SOCKET as number,
      state: streamBaseState,
      bytesOrErrorIndex: kReadBytesOrError,
      offsetIndex: kArrayBufferOffset,
    };
  });
  return cachedPipes === null ? undefined : { Process: cachedProcessHandle, pipes: cachedPipes };
}

/** Runs `load` with `process.binding`, or returns null where it must not or cannot be used. */
function loadBinding<T>(load: (binding: (name: string) => unknown) => T | null): T | null {
  const binding = (process as { binding?: (name: string) => unknown }).binding;
  // Under --pending-deprecation Node wraps process.binding in a function named `deprecated`
  // that warns on every call; a warning on our stderr would be worse than 4 ms.
  if (typeof binding !== 'function' || binding.name !== 'binding') return null;
  try {
    return load((name) => binding.call(process, name));
  } catch {
    // Not on the allow-list, or access denied by the permission model.
    return null;
  }
}

class HandleChild extends EventEmitter {
  pid: number | undefined = undefined;
  readonly stdin = null;
  stdout: PipeOutput | null = null;
  stderr: PipeOutput | null = null;
  readonly stdio: (PipeOutput | null)[] = [null, null, null];
}

/** One output pipe read through its handle: emits 'data' chunks, then 'end' once. */
class PipeOutput extends EventEmitter {
  #isOpen = true;

  constructor(
    private readonly pipe: PipeHandle,
    stream: StreamState,
  ) {
    super();
    pipe.onread = (buffer) => {
      const bytesOrError = stream.state[stream.bytesOrErrorIndex] ?? -1;
      if (bytesOrError > 0 && buffer !== undefined) {
        const offset = stream.state[stream.offsetIndex] ?? 0;
        this.emit('data', Buffer.from(buffer, offset, bytesOrError));
      } else if (bytesOrError < 0) {
        // The end of the stream, or an error reading it: either way nothing more comes.
        this.destroy();
      }
    };
  }

  /** Starts reading; false when libuv refused. */
  start(): boolean {
    return this.pipe.readStart() === 0;
  }

  pause(): this {
    if (this.#isOpen) this.pipe.readStop();
    return this;
  }

  resume(): this {
    if (this.#isOpen) this.pipe.readStart();
    return this;
  }

  get isOpen(): boolean {
    return this.#isOpen;
  }

  destroy(): this {
    if (!this.#isOpen) return this;
    this.#isOpen = false;
    this.pipe.close();
    this.emit('end');
    return this;
  }
}

function spawnThroughProcessHandle(
  handles: Handles,
  options: BackendSpawnOptions,
): SupervisedChild {
  const argv = [options.file, ...options.args];
  const envPairs = Object.entries(options.env).map(([key, value]) => `${key}=${value}`);
  // The native side reads C strings: a NUL would silently cut an argument short. Node's
  // spawn refuses such strings, and so do we.
  if ([...argv, ...envPairs].some((text) => text.includes('\0'))) {
    throw new TypeError(`${options.file}: an argument or environment entry contains a NUL byte`);
  }
  const child = new HandleChild();
  const outputs: PipeOutput[] = [];
  const stdio = options.stdio.map((fd, index) => {
    if (fd !== 'pipe') return { type: 'fd' as const, fd };
    const pipes = handles.pipes as NonNullable<Handles['pipes']>;
    const pipe = new pipes.Pipe(pipes.socketType);
    const output = new PipeOutput(pipe, pipes);
    outputs.push(output);
    child.stdio[index] = output;
    if (index === 1) child.stdout = output;
    else child.stderr = output;
    return { type: 'pipe' as const, handle: pipe };
  });
  const handle = new handles.Process();
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  // 'close' follows the exit once every output pipe has ended, as with child_process.
  const closeWhenDone = (): void => {
    if (exit !== undefined && outputs.every((output) => !output.isOpen)) {
      child.emit('close', exit.code, exit.signal);
    }
  };
  for (const output of outputs) output.once('end', closeWhenDone);
  handle.onexit = (exitCode, signalName) => {
    handle.close();
    const signal = signalName === '' ? null : (signalName as NodeJS.Signals);
    exit = { code: signal === null ? exitCode : null, signal };
    child.emit('exit', exit.code, exit.signal);
    closeWhenDone();
  };
  const errno = handle.spawn({
    file: options.file,
    args: argv,
    cwd: '/',
    envPairs,
    stdio,
    detached: true,
  });
  if (errno !== 0) {
    handle.close();
    for (const output of outputs) {
      output.removeAllListeners('end');
      output.destroy();
    }
    const code = getSystemErrorName(errno);
    const error: NodeJS.ErrnoException = new Error(`spawn ${options.file} ${code}`);
    Object.assign(error, { errno, code, syscall: `spawn ${options.file}`, path: options.file });
    // Asynchronous, as child_process reports it: listeners are attached after the call.
    process.nextTick(() => child.emit('error', error));
    return child;
  }
  child.pid = handle.pid;
  for (const output of outputs) {
    if (!output.start()) output.destroy();
  }
  return child;
}
