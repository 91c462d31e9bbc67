import { accessSync, closeSync, constants, openSync } from 'node:fs';
import { isPolytheneError, PolytheneError } from '@polythene/errors';
import type { RunResult, RunSpec } from '../backend.ts';
import { createBoundedCapture } from './bounded-capture.ts';
import { type ExecGuardOptions, wrapWithExecGuard } from './exec-guard.ts';
import {
  isProcessAlive,
  killProcessGroupExcept,
  killProcessTree,
  listChildPids,
  listDescendantPids,
  sendSignal,
} from './proc-tree.ts';
import { type SupervisedChild, spawnBackendProcess } from './spawn-backend-process.ts';

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
}

/** Captured output is capped at this many bytes per stream when `maxOutputBytes` is unset. */
export const DEFAULT_MAX_OUTPUT_BYTES: number = 16 * 1024 * 1024;

const forwardedSignals: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const commandPidRetryMs = 20;
const commandPidRetries = 50;
const firstLeftoverLookMs = 25;
const leftoverPollMs = 50;
// A backend with no child for this long has either not started one or lost it (see below).
const noChildTimeoutMs = 500;
const streamDrainTimeoutMs = 2_000;
// A reaping guard asked to kill the tree gets this long before the supervisor kills it all.
const guardKillTimeoutMs = 2_000;
const maxNoticeLineLength = 4096;
const maxNoticesLength = 64 * 1024;

/**
 * Spawns a backend process and supervises the command it runs: exactly the given
 * environment, stdio inherited or captured (bounded), input fed to stdin, a timeout that
 * kills the whole tree, SIGINT/SIGTERM/SIGHUP (and `abortSignal`) forwarded to the command
 * itself with the tree killed `killGraceMs` later. Resolves when the backend has exited; the
 * backend's `interpretExit` decides the command's status or throws a set-up failure.
 */
export function superviseProcess(options: SuperviseOptions): Promise<RunResult> {
  const { controls } = options;
  if (controls.abortSignal?.aborted) {
    return Promise.reject(
      new PolytheneError(
        'POLYTHENE_INTERRUPTED',
        `${options.backend}: the run was aborted before the command started`,
      ),
    );
  }
  return new Promise<RunResult>((resolve, reject) => {
    const isPipe = controls.stdio === 'pipe';
    const isFilteringStderr = (options.backendNoticePrefixes?.length ?? 0) > 0;
    // Captured output with no input: stdin is /dev/null, as empty as a closed pipe, and then
    // no stream is written, so the backend starts without node:child_process (see
    // spawnBackendProcess).
    let emptyStdin: number | undefined;
    if (isPipe && controls.input === undefined) {
      try {
        emptyStdin = openSync('/dev/null', 'r');
      } catch {
        // No /dev/null: an ended pipe, as with input.
      }
    }
    const stdio: ('pipe' | number)[] = [
      isPipe ? (emptyStdin ?? 'pipe') : 0,
      isPipe ? 'pipe' : 1,
      isPipe || isFilteringStderr ? 'pipe' : 2,
      ...(options.extraStdio ?? []),
    ];
    const startedAt = monotonicMs();
    let child: SupervisedChild | undefined;

    const limitBytes = controls.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    const stdoutCapture = createBoundedCapture(limitBytes);
    const stderrCapture = createBoundedCapture(limitBytes);
    // Passed-through stderr keeps back-pressure, as an inherited stdout has: while our own
    // stderr's reader lags, the backend's pipe is not read, so the command blocks on a full
    // pipe instead of polythene buffering all it writes.
    let isStderrPaused = false;
    const passStderr = (bytes: Buffer): void => {
      if (process.stderr.write(bytes) || isStderrPaused) return;
      isStderrPaused = true;
      child?.stderr?.pause();
      process.stderr.once('drain', () => {
        isStderrPaused = false;
        child?.stderr?.resume();
      });
    };
    const noticeFilter = isFilteringStderr
      ? createNoticeFilter(options.backendNoticePrefixes ?? [], (bytes) =>
          isPipe ? stderrCapture.push(bytes) : passStderr(bytes),
        )
      : undefined;
    let isEnded = false;
    let killedBySupervisor = false;
    let timedOut = false;
    let graceTimer: NodeJS.Timeout | undefined;
    let timeoutTimer: NodeJS.Timeout | undefined;
    let leftoverTimer: NodeJS.Timeout | undefined;
    let drainTimer: NodeJS.Timeout | undefined;
    let exitStatus: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let exitedAt = 0;

    const isGuardReaping = options.guard?.reapTree === true;
    // The spawned process is the terminal relay when there is one (it starts the guard), else
    // the guard, which execs the backend or, reaping, is its parent: the backend process the
    // callbacks are given.
    const backendPidOf = (spawnedPid: number): number | undefined =>
      options.relay === undefined ? spawnedPid : listChildPids(spawnedPid)[0];
    const findCommandPid = (spawnedPid: number): number | undefined => {
      const pid = backendPidOf(spawnedPid);
      if (pid === undefined) return undefined;
      if (options.findCommandPid) return options.findCommandPid(pid);
      // A reaping guard's first child is the backend; the command is the backend's.
      const backendPid = isGuardReaping ? listChildPids(pid)[0] : pid;
      return backendPid === undefined ? undefined : listChildPids(backendPid)[0];
    };
    let guardKillTimer: NodeJS.Timeout | undefined;
    const killAll = (): void => {
      const spawnedPid = child?.pid;
      if (spawnedPid === undefined || isEnded) return;
      killedBySupervisor = true;
      const pid = backendPidOf(spawnedPid);
      // A relay that has not started the backend yet ends on SIGTERM, restoring the terminal.
      if (pid === undefined) {
        sendSignal(spawnedPid, 'SIGTERM');
        return;
      }
      if (options.killTree) options.killTree(pid);
      if (!isGuardReaping) {
        killProcessTree(pid);
        return;
      }
      // SIGKILLing the guard first would re-parent what left the process group to init, out
      // of reach: the guard kills its tree itself, and only a guard that hangs is killed here.
      sendSignal(pid, 'SIGTERM');
      guardKillTimer ??= setTimeout(() => killProcessTree(pid), guardKillTimeoutMs);
      guardKillTimer.unref();
    };
    const deliver = (signal: NodeJS.Signals, attempt: number): void => {
      const pid = child?.pid;
      if (pid === undefined || isEnded) return;
      const commandPid = findCommandPid(pid);
      if (commandPid !== undefined) {
        sendSignal(commandPid, signal);
        // As a terminal's Ctrl-C reaches the whole foreground job: a shell waiting for its
        // child handles SIGINT only once the child has ended, so the child must get it too.
        if (signal === 'SIGINT' && options.forwardsSignalsItself !== true) {
          for (const pid of listDescendantPids(commandPid)) sendSignal(pid, signal);
        }
      } else if (attempt < commandPidRetries) {
        // The backend has not started the command yet (still setting up): try again shortly.
        setTimeout(() => deliver(signal, attempt + 1), commandPidRetryMs).unref();
      } else {
        killAll();
      }
    };
    const forward = (signal: NodeJS.Signals): void => {
      if (isEnded) return;
      deliver(signal, 0);
      graceTimer ??= setTimeout(killAll, controls.killGraceMs);
    };
    const signalHandlers = new Map<NodeJS.Signals, () => void>();
    if (controls.forwardSignals) {
      for (const signal of forwardedSignals) {
        const handler = (): void => forward(signal);
        signalHandlers.set(signal, handler);
        process.on(signal, handler);
      }
    }
    const onAbort = (): void => forward('SIGTERM');
    controls.abortSignal?.addEventListener('abort', onAbort, { once: true });

    const cleanUp = (): void => {
      isEnded = true;
      for (const [signal, handler] of signalHandlers) process.removeListener(signal, handler);
      controls.abortSignal?.removeEventListener('abort', onAbort);
      clearTimeout(graceTimer);
      clearTimeout(timeoutTimer);
      clearTimeout(leftoverTimer);
      clearTimeout(drainTimer);
      clearTimeout(guardKillTimer);
    };

    // Spawned only now, with the forwarding handlers in place: a signal that arrives as soon
    // as the command runs (a busy machine may pause us right after the fork) is forwarded,
    // never left to kill polythene.
    try {
      // Own session and process group: terminal signals reach polythene only, which forwards
      // them to the command; the group lets the tree be killed; no TIOCSTI into our terminal.
      // The guard would start a missing binary only to fail with 125: refuse it here instead.
      accessSync(options.file, constants.X_OK);
      const guarded = wrapWithExecGuard(
        options.file,
        options.args,
        options.extraStdio?.length ?? 0,
        options.guard,
      );
      // The terminal relay stays outside the guard: it holds the user's terminal on the host
      // and restores it however the run ends, while the guard still closes every inherited
      // fd (the relay's own included) before the backend starts.
      const spawned =
        options.relay === undefined
          ? guarded
          : {
              file: options.relay.file,
              args: [...options.relay.args, '--', guarded.file, ...guarded.args],
            };
      controls.spawnHooks?.before();
      try {
        child = spawnBackendProcess({
          file: spawned.file,
          args: spawned.args,
          env: options.env,
          stdio,
        });
      } finally {
        controls.spawnHooks?.after();
      }
    } catch (error) {
      cleanUp();
      // A missing exec guard says itself which guarantee it costs.
      reject(isPolytheneError(error) ? error : setupFailed(options, error));
      return;
    } finally {
      // The child has its own copy now (or never started).
      if (emptyStdin !== undefined) closeSync(emptyStdin);
    }

    child.on('error', (error) => {
      if (isEnded) return;
      cleanUp();
      if (child.pid !== undefined) killProcessTree(child.pid);
      reject(setupFailed(options, error));
    });
    child.on('exit', (code, signal) => {
      exitStatus = { code, signal };
      exitedAt = monotonicMs();
      clearTimeout(leftoverTimer);
      // Normally the streams close right after; a process that escaped the tree could hold
      // them open forever, so stop waiting for them after a while. Without streams (inherited
      // stdio) 'close' follows at once: no timer.
      if (child.stdio.some((stream) => stream !== null && stream !== undefined)) {
        drainTimer = setTimeout(() => {
          for (const stream of child.stdio) stream?.destroy();
          finish();
        }, streamDrainTimeoutMs);
      }
    });
    child.on('close', () => finish());

    const finish = (): void => {
      if (isEnded || exitStatus === undefined) return;
      cleanUp();
      let outcome: CommandOutcome;
      try {
        outcome = options.interpretExit({
          code: exitStatus.code,
          signal: exitStatus.signal,
          killedBySupervisor,
          timedOut,
          stderr: noticeFilter ? noticeFilter.finish() : isPipe ? stderrCapture.bytes() : undefined,
        });
      } catch (error) {
        reject(error);
        return;
      }
      const durationMs = Math.round(exitedAt - startedAt);
      const base = {
        exitCode: outcome.exitCode,
        signal: outcome.signal,
        timedOut,
        durationMs,
        backend: options.backend,
      };
      resolve(
        isPipe
          ? {
              ...base,
              stdout: stdoutCapture.bytes(),
              stderr: outcome.stderr ?? stderrCapture.bytes(),
              stdoutTruncated: stdoutCapture.isTruncated,
              stderrTruncated: stderrCapture.isTruncated,
            }
          : base,
      );
    };

    if (child.pid === undefined) return; // 'error' follows.
    const spawnedPid = child.pid;

    if (noticeFilter) {
      child.stderr?.on('data', (chunk: Buffer) => noticeFilter.push(chunk));
    } else if (isPipe) {
      child.stderr?.on('data', (chunk: Buffer) => stderrCapture.push(chunk));
    }
    if (isPipe) {
      child.stdout?.on('data', (chunk: Buffer) => stdoutCapture.push(chunk));
      const stdin = child.stdin;
      if (stdin) {
        // The command may exit without reading its input: that is not an error.
        stdin.on('error', () => undefined);
        if (controls.input !== undefined) stdin.end(controls.input);
        else stdin.end();
      }
    }

    if (controls.timeoutMs !== undefined) {
      timeoutTimer = setTimeout(() => {
        timedOut = true;
        killAll();
      }, controls.timeoutMs);
    }

    if (options.killLeftoversWhenCommandEnds) {
      let commandPid: number | undefined;
      let hasSeenCommandEnd = false;
      const watch = (): void => {
        if (isEnded || exitStatus !== undefined) return;
        const backendPid = backendPidOf(spawnedPid);
        if (backendPid === undefined) {
          leftoverTimer = setTimeout(watch, leftoverPollMs);
          return;
        }
        let hasCommandEnded: boolean;
        if (commandPid !== undefined) {
          hasCommandEnded = !isProcessAlive(commandPid);
        } else {
          commandPid = listChildPids(backendPid)[0];
          // A command that ended before we first looked leaves its orphans re-parented away:
          // a backend with no child for a while has lost it (or never started it).
          hasCommandEnded =
            commandPid === undefined && monotonicMs() - startedAt > noChildTimeoutMs;
        }
        // The backend normally exits right after its command: only if it is still there one
        // poll later do leftovers hold it, and only then is /proc scanned for them.
        if (hasCommandEnded && hasSeenCommandEnd) killProcessGroupExcept(backendPid, backendPid);
        hasSeenCommandEnd ||= hasCommandEnded;
        leftoverTimer = setTimeout(watch, leftoverPollMs);
      };
      // Most commands are done before the first look, and proot exits with them by itself: a
      // look while it runs would only compete with its tracing for the CPU.
      leftoverTimer = setTimeout(watch, firstLeftoverLookMs);
    }
  });
}

// What `finish` returns on most runs: a backend that had nothing to say.
const noNotices = Buffer.alloc(0);

/**
 * Splits a stderr stream into the backend's own notice lines (held, returned by `finish`) and
 * everything else (passed to `write` as soon as it cannot be the start of a notice). Works on
 * bytes (as latin1 text, one character a byte): the command's output passes unchanged, even
 * when it is not UTF-8.
 */
function createNoticeFilter(
  prefixes: readonly string[],
  write: (bytes: Buffer) => void,
): { push(chunk: Buffer): void; finish(): Buffer } {
  // A backend's notices are short lines, and few: what is longer is the command's own output,
  // and what is held stays bounded whatever the command writes.
  const isNotice = (text: string): boolean =>
    text.length <= maxNoticeLineLength && prefixes.some((prefix) => text.startsWith(prefix));
  const keep = (text: string): void => {
    if (notices.length + text.length <= maxNoticesLength) notices += text;
  };
  const pass = (text: string): void => write(Buffer.from(text, 'latin1'));
  let pending = '';
  let notices = '';
  const drain = (isFinal: boolean): void => {
    for (;;) {
      const newline = pending.indexOf('\n');
      if (newline === -1) break;
      const line = pending.slice(0, newline + 1);
      pending = pending.slice(newline + 1);
      if (isNotice(line)) keep(line);
      else pass(line);
    }
    // A partial line is held only while it could still become a notice.
    const couldBeNotice =
      pending.length <= maxNoticeLineLength &&
      prefixes.some((prefix) => prefix.startsWith(pending) || pending.startsWith(prefix));
    if (pending !== '' && (isFinal || !couldBeNotice)) {
      if (isNotice(pending)) keep(pending);
      else pass(pending);
      pending = '';
    }
  };
  return {
    push(chunk) {
      pending += chunk.toString('latin1');
      drain(false);
    },
    finish() {
      drain(true);
      return notices === '' ? noNotices : Buffer.from(notices, 'latin1');
    },
  };
}

// `performance.now()` would load perf_hooks, a cost every exec would pay for two timestamps.
function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

function setupFailed(options: SuperviseOptions, error: unknown): PolytheneError {
  const reason = error instanceof Error ? error.message : String(error);
  return new PolytheneError(
    'POLYTHENE_SETUP_FAILED',
    `${options.backend}: could not start ${options.file}: ${reason}; check that it is installed and executable`,
    { cause: error },
  );
}
