import { basename, dirname } from 'node:path';
import { requireNativeHelper } from '@polythene/native';
import type { RunTerminal } from '../backend.ts';
import type { SuperviseOptions } from './supervise-process.ts';

/** The native helper that relays the user's terminal and gives the command a pty in the box. */
export const TERMINAL_HELPER = 'polythene-pty';

/**
 * Where the box sees the directory of polythene's helpers during a `--tty` run: inside `/dev`,
 * which every backend makes for the run (never the image's own), so nothing is written into
 * the image.
 */
export const BOX_HELPERS_DIR = '/dev/.polythene';

/** The terminal helper as the host and the box see it. */
export interface TerminalHelper {
  /** Host path of the helper (the relay runs it there). */
  readonly hostPath: string;
  /** The host directory holding it: a backend binds it read-only at {@link BOX_HELPERS_DIR}. */
  readonly hostDir: string;
  /** The helper's path inside the box (the inner side runs it there). */
  readonly boxPath: string;
}

/**
 * Finds the terminal helper; a missing one is a `POLYTHENE_SETUP_FAILED` error naming what
 * it costs.
 */
export function findTerminalHelper(
  env: Readonly<Record<string, string | undefined>> = process.env,
): TerminalHelper {
  const hostPath = requireNativeHelper(
    TERMINAL_HELPER,
    'a terminal of its own for the command (--tty)',
    env,
  );
  return {
    hostPath,
    hostDir: dirname(hostPath),
    boxPath: `${BOX_HELPERS_DIR}/${basename(hostPath)}`,
  };
}

/**
 * The argv a backend runs in the box instead of `argv`: the helper's inner side, which opens a
 * pty in the box's own devpts and starts `argv` as a session leader with that pty as its
 * controlling terminal.
 */
export function wrapCommandForTerminal(argv: readonly string[], helper: TerminalHelper): string[] {
  return [helper.boxPath, 'inner', '--', ...argv];
}

/**
 * Puts the helper's relay in front of a backend's process: the relay holds polythene's stdio
 * (the user's terminal), in raw mode when `terminal.interactive` and stdin is a terminal,
 * restores it however the run ends, and gives the backend pipes, never the terminal. The
 * supervisor then finds the backend as the relay's child: signals, timeouts and tree kills
 * reach the backend and the box, and the relay ends by itself once the backend has.
 */
export function relayTerminal(
  options: SuperviseOptions,
  terminal: RunTerminal,
  helper: TerminalHelper,
): SuperviseOptions {
  return {
    ...options,
    relay: { file: helper.hostPath, args: ['relay', ...(terminal.interactive ? ['-i'] : [])] },
    // The inner side sends a forwarded signal to the terminal's foreground job.
    forwardsSignalsItself: true,
  };
}
