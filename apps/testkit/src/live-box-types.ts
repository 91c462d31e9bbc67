import type { Readable, Writable } from 'node:stream';
import type { BoxExecOptions, BoxExecResult, BoxLimits } from './box-types.ts';

/** Options for `image.box({ keepAlive: true })`. */
export interface LiveBoxOptions extends BoxLimits {
  /** A box that stays up: services started in it are reachable from its next commands. */
  readonly keepAlive: true;
  /** A name for the box (`polythene ps` shows it); default none. */
  readonly name?: string;
  /** Host paths bound into the box for its whole life: `SRC:DEST[:ro]`. */
  readonly binds?: readonly string[];
  /** End the box once idle this long, even if the test never disposes it. */
  readonly expireAfterMs?: number;
  /** The box's network for its whole life: `none` (default), `host` or `private`. */
  readonly network?: 'none' | 'host' | 'private';
  /** With `private`: `HOST_PORT:BOX_PORT[/tcp|udp]`, the host's 127.0.0.1 reaching the box. */
  readonly publish?: readonly string[];
}

/** Options for {@link LiveBox.spawn}. */
export type LiveBoxSpawnOptions = Pick<BoxExecOptions, 'env' | 'cwd' | 'user'>;

/** A command started in a live box with {@link LiveBox.spawn}. */
export interface LiveBoxProcess extends AsyncDisposable {
  /** The argv that runs. */
  readonly command: readonly string[];
  readonly stdin: Writable;
  /** Its output as it comes, from when the handle is returned (all of it: {@link output}). */
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Settles when it has ended: its exit code (128+n for signal n) and signal. */
  readonly exit: Promise<{ exitCode: number; signal: NodeJS.Signals | null }>;
  /** Everything it wrote to stdout and stderr so far, decoded as UTF-8. */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs` (default 3 s); resolves once it has ended. */
  stop(graceMs?: number): Promise<void>;
}

/** Options for the readiness waits. */
export interface WaitOptions {
  /** Give up (throw) after this many milliseconds; default 30 s. */
  readonly timeoutMs?: number;
  /** Look again this often; default 100 ms. */
  readonly intervalMs?: number;
}

/**
 * A box that stays up (`polythene start`) for a test against a started service: every
 * command runs in the same namespaces, so a daemon one command started is reachable on the
 * box's loopback from the next. Disposing it stops everything in it.
 */
export interface LiveBox extends AsyncDisposable {
  /** The box's id (as `polythene ps` shows it). */
  readonly id: string;
  /** The backend that holds it: `bwrap` or `chroot`. */
  readonly backend: string;
  /** Runs a command in the box and captures its output, as `Box.exec` does. */
  exec(command: string | readonly string[], options?: BoxExecOptions): Promise<BoxExecResult>;
  /** Starts a command (a service) in the box and returns at once. */
  spawn(
    command: string | readonly string[],
    options?: LiveBoxSpawnOptions,
  ): Promise<LiveBoxProcess>;
  /** Resolves once something in the box listens on TCP `port` (its own network namespace). */
  waitForPort(port: number, options?: WaitOptions): Promise<void>;
  /** Resolves once a spawned command's output, or the box's log, matches `pattern`. */
  waitForLog(pattern: RegExp, options?: WaitOptions): Promise<void>;
  /** Resolves once `command` exits 0 in the box (e.g. `['pg_isready']`). */
  waitForCommand(command: string | readonly string[], options?: WaitOptions): Promise<void>;
  /** Stops the box: SIGTERM to everything, a grace period, SIGKILL; safe to call twice. */
  dispose(): Promise<void>;
}
