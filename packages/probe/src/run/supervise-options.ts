import type { RunSpec } from '../backend.ts';
import type { ExecGuardOptions } from './exec-guard.ts';

/** The parts of a {@link RunSpec} that say how to supervise the command, not where to run it. */
export type RunControls = Pick<
  RunSpec,
  | 'stdio'
  | 'input'
  | 'maxOutputBytes'
  | 'timeoutMs'
  | 'killGraceMs'
  | 'forwardSignals'
  | 'abortSignal'
  | 'spawnHooks'
>;

/** How the backend process ended, for {@link SuperviseOptions.interpretExit}. */
export interface BackendExit {
  /** The backend process's exit status, or null when a signal ended it. */
  readonly code: number | null;
  /** The signal that ended the backend process, or null. */
  readonly signal: NodeJS.Signals | null;
  /** True when the supervisor killed the tree (timeout, or a forwarded signal's grace ran out). */
  readonly killedBySupervisor: boolean;
  /** True when the timeout ran out. */
  readonly timedOut: boolean;
  /**
   * The backend's own notice lines when `backendNoticePrefixes` is set (in either mode: they
   * never reach the command's output); else captured stderr in `pipe` mode, undefined in
   * `inherit` mode.
   */
  readonly stderr: Uint8Array | undefined;
}

/** The command's outcome as the backend reads it. */
export interface CommandOutcome {
  /** Exit status, or null when a signal ended the command. */
  readonly exitCode: number | null;
  /** The signal that ended the command, or null. */
  readonly signal: NodeJS.Signals | null;
  /** Replacement for the captured stderr (e.g. with the backend's own notices removed). */
  readonly stderr?: Uint8Array;
}

/** What {@link superviseProcess} runs and how it finds the command inside the backend. */
export interface SuperviseOptions {
  /** Backend name, reported in the result. */
  readonly backend: string;
  /** Absolute path of the backend binary (never looked up on the command's `PATH`). */
  readonly file: string;
  /** Arguments for the backend binary. */
  readonly args: readonly string[];
  /** The backend process's complete environment: the host's never leaks in. */
  readonly env: Readonly<Record<string, string>>;
  /** How to supervise: stdio, input, limits, timeout, signals. */
  readonly controls: RunControls;
  /**
   * Open host fds to share as the backend process's fds 3, 4, …: channels it reads arguments
   * from or reports status to (see `openSideChannelFile`).
   */
  readonly extraStdio?: readonly number[];
  /**
   * The host pid of the command itself (not the backend binary, not a namespace's init), to
   * deliver forwarded signals to; undefined while it is not known yet. Defaults to the
   * backend process's first child.
   */
  readonly findCommandPid?: (backendPid: number) => number | undefined;
  /**
   * A relay to start in front of the exec guard and the backend (the terminal relay, see
   * `relayTerminal`): polythene spawns `file args -- guard … -- backend …`. The backend's pid
   * is then the relay's child, the other callbacks are given that, and a tree kill spares the
   * relay, which ends by itself once the backend has (restoring the user's terminal first).
   */
  readonly relay?: { readonly file: string; readonly args: readonly string[] };
  /**
   * True when the command's pid is a process that forwards signals to the command's
   * foreground job itself (the terminal helper's inner side): SIGINT then goes to it alone,
   * not also to every process the command started.
   */
  readonly forwardsSignalsItself?: boolean;
  /** Kills everything the command started; defaults to the backend's process group and tree. */
  readonly killTree?: (backendPid: number) => void;
  /**
   * For backends that outlive their command while processes it left behind run (proot
   * without `--kill-on-exit`): once the command has ended, kill the rest of the process group
   * so the backend can report the command's status and exit.
   */
  readonly killLeftoversWhenCommandEnds?: boolean;
  /** Turns how the backend ended into the command's outcome; throws when set-up failed. */
  readonly interpretExit: (exit: BackendExit) => CommandOutcome;
  /**
   * Lines the backend binary itself writes to stderr (proot's "terminated with signal" notice),
   * recognised by these prefixes. Such lines are held back for `interpretExit` (as
   * {@link BackendExit.stderr}); everything else is passed on at once in `inherit` mode, or
   * captured in `pipe` mode, where the notices then count against no limit. The command's
   * stderr is then a pipe, not the terminal.
   */
  readonly backendNoticePrefixes?: readonly string[];
  /**
   * What the exec guard, which every backend process is started through, does beyond closing
   * inherited fds and shutting the caller's keyrings away (see `wrapWithExecGuard`). With
   * `reapTree` the guard is the backend process the supervisor sees: the command is its
   * grandchild, and killing the tree is asking the guard (SIGTERM), which kills every
   * process below it, those that left the process group included.
   */
  readonly guard?: ExecGuardOptions;
  /**
   * The command runs as this process's own user in its pid namespace (a backend without
   * namespaces, such as proot): keep this process non-dumpable while the run lasts
   * (`holdNonDumpable` of `@polythene/native`), so the command can neither read its
   * `/proc/<pid>/environ` (the caller's environment, host secrets) nor its memory, nor trace it.
   */
  readonly hideSupervisor?: boolean;
}
