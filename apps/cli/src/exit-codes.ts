import { isPolytheneError, type PolytheneErrorCode } from '@polythene/errors';
import { getSignalNumber } from '@polythene/probe';

/**
 * The documented exit codes of the `polythene` command. `exec` otherwise exits with the
 * command's own status, or 128+n when the command died of signal n.
 */
export const EXIT_CODES = {
  /** Success. */
  ok: 0,
  /** The operation failed: no such rootfs, pull or extraction failed, store unusable. */
  failure: 1,
  /** Usage error: a bad flag, argument, id or image reference. */
  usage: 2,
  /** `--timeout` ran out. */
  timeout: 124,
  /** The sandbox could not be set up (or `--strict` refused a weaker one). */
  setupFailed: 125,
  /** No backend can run commands on this host. */
  noBackend: 126,
  /** The command does not exist in the root filesystem. */
  commandNotFound: 127,
  /** `exec`: the run's memory limit (`--memory`) killed it (128 + SIGKILL). */
  memoryLimit: 137,
} as const;

const exitCodeByErrorCode: Record<PolytheneErrorCode, number> = {
  POLYTHENE_USAGE: EXIT_CODES.usage,
  POLYTHENE_INVALID_ID: EXIT_CODES.usage,
  POLYTHENE_INVALID_IMAGE_REF: EXIT_CODES.usage,
  POLYTHENE_ROOTFS_NOT_FOUND: EXIT_CODES.failure,
  POLYTHENE_ENTRY_IN_USE: EXIT_CODES.failure,
  POLYTHENE_STORE_UNAVAILABLE: EXIT_CODES.failure,
  POLYTHENE_PODMAN_MISSING: EXIT_CODES.failure,
  POLYTHENE_PULL_FAILED: EXIT_CODES.failure,
  POLYTHENE_EXTRACT_FAILED: EXIT_CODES.failure,
  POLYTHENE_TIMEOUT: EXIT_CODES.timeout,
  // Replaced by 128+signal when the signal is known (see exitCodeForError).
  POLYTHENE_INTERRUPTED: 130,
  POLYTHENE_SETUP_FAILED: EXIT_CODES.setupFailed,
  POLYTHENE_BACKEND_MODULE: EXIT_CODES.setupFailed,
  POLYTHENE_NO_BACKEND: EXIT_CODES.noBackend,
  POLYTHENE_COMMAND_NOT_FOUND: EXIT_CODES.commandNotFound,
  POLYTHENE_BOX_NOT_FOUND: EXIT_CODES.failure,
};

/**
 * The exit code for an error thrown by a command; unknown errors are failures. An
 * interruption exits 128+n for the signal polythene received, as a shell would.
 */
export function exitCodeForError(error: unknown, receivedSignal?: NodeJS.Signals): number {
  if (!isPolytheneError(error)) return EXIT_CODES.failure;
  if (error.code === 'POLYTHENE_INTERRUPTED' && receivedSignal) {
    return exitCodeForSignal(receivedSignal);
  }
  return exitCodeByErrorCode[error.code];
}

/** 128+n for signal n, the shell's convention. */
export function exitCodeForSignal(signal: NodeJS.Signals): number {
  return 128 + (getSignalNumber(signal) ?? 0);
}
