import { closeSync, openSync } from 'node:fs';
import { createBoundedCapture } from './bounded-capture.ts';
import { createNoticeFilter } from './notice-filter.ts';
import type { BackendSpawnOptions, SupervisedChild } from './spawn-backend-process.ts';
import type { SuperviseOptions } from './supervise-options.ts';

/** Captured output is capped at this many bytes per stream when `maxOutputBytes` is unset. */
export const DEFAULT_MAX_OUTPUT_BYTES: number = 16 * 1024 * 1024;

/** What a `pipe`-mode run captured. */
export interface CapturedOutput {
  stdout: Uint8Array;
  stderr: Uint8Array;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
}

/** The stdio of a supervised run: see {@link createSupervisedStdio}. */
export interface SupervisedStdio {
  /** The spawned process's fds 0, 1, 2 and the extra ones. */
  readonly stdio: BackendSpawnOptions['stdio'];
  /** Closes our copy of the empty stdin once the child has its own (or never started). */
  closeEmptyStdin(): void;
  /** Wires the child's streams: captures, the notice filter, the input. */
  attach(child: SupervisedChild): void;
  /** The stderr `interpretExit` sees: the notices held back, else the capture in `pipe` mode. */
  backendStderr(): Uint8Array | undefined;
  /** What was captured, in `pipe` mode (`stderr` replaced when given); undefined otherwise. */
  captured(stderr: Uint8Array | undefined): CapturedOutput | undefined;
}

/**
 * The stdio of a supervised run: inherited or captured (bounded by `maxOutputBytes`), input
 * fed to stdin, and the backend's own notice lines (`backendNoticePrefixes`) held back from
 * the command's stderr.
 */
export function createSupervisedStdio(
  options: Pick<SuperviseOptions, 'controls' | 'backendNoticePrefixes' | 'extraStdio'>,
): SupervisedStdio {
  const { controls } = options;
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

  return {
    stdio,
    closeEmptyStdin() {
      if (emptyStdin !== undefined) closeSync(emptyStdin);
    },
    attach(spawned) {
      child = spawned;
      if (noticeFilter) {
        spawned.stderr?.on('data', (chunk: Buffer) => noticeFilter.push(chunk));
      } else if (isPipe) {
        spawned.stderr?.on('data', (chunk: Buffer) => stderrCapture.push(chunk));
      }
      if (!isPipe) return;
      spawned.stdout?.on('data', (chunk: Buffer) => stdoutCapture.push(chunk));
      const stdin = spawned.stdin;
      if (stdin) {
        // The command may exit without reading its input: that is not an error.
        stdin.on('error', () => undefined);
        if (controls.input !== undefined) stdin.end(controls.input);
        else stdin.end();
      }
    },
    backendStderr() {
      return noticeFilter ? noticeFilter.finish() : isPipe ? stderrCapture.bytes() : undefined;
    },
    captured(stderr) {
      if (!isPipe) return undefined;
      return {
        stdout: stdoutCapture.bytes(),
        stderr: stderr ?? stderrCapture.bytes(),
        stdoutTruncated: stdoutCapture.isTruncated,
        stderrTruncated: stderrCapture.isTruncated,
      };
    },
  };
}
