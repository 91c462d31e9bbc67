/**
 * Every failure a Polythene package reports, as a closed set. The CLI maps each code to a
 * documented exit code; programs switch on it.
 */
export type PolytheneErrorCode =
  /** A flag, argument or option value is malformed or missing. */
  | 'POLYTHENE_USAGE'
  /** A store entry id is not a UUID, or names something that is not a plain entry. */
  | 'POLYTHENE_INVALID_ID'
  /** No root filesystem with that id in the store. */
  | 'POLYTHENE_ROOTFS_NOT_FOUND'
  /** A store entry cannot be removed: other entries (overlay clones) or running commands are layered on it. */
  | 'POLYTHENE_ENTRY_IN_USE'
  /** The store directory cannot be created, read or written. */
  | 'POLYTHENE_STORE_UNAVAILABLE'
  /** An image reference that podman would misread or that is malformed. */
  | 'POLYTHENE_INVALID_IMAGE_REF'
  /** podman is not installed or not on PATH. */
  | 'POLYTHENE_PODMAN_MISSING'
  /** podman could not pull, create, inspect or export the image. */
  | 'POLYTHENE_PULL_FAILED'
  /** The exported image could not be extracted safely into the store. */
  | 'POLYTHENE_EXTRACT_FAILED'
  /** An operation ran past its `--timeout`. */
  | 'POLYTHENE_TIMEOUT'
  /** The operation was interrupted by a signal (Ctrl-C, SIGTERM, SIGHUP). */
  | 'POLYTHENE_INTERRUPTED'
  /** No backend can run commands on this host. */
  | 'POLYTHENE_NO_BACKEND'
  /** The backend could not set up the sandbox, or `--strict` refused a weaker one. */
  | 'POLYTHENE_SETUP_FAILED'
  /** The command does not exist in the root filesystem. */
  | 'POLYTHENE_COMMAND_NOT_FOUND'
  /** A custom backend module could not be loaded or does not have the Backend shape. */
  | 'POLYTHENE_BACKEND_MODULE'
  /** No running box has that id or name (`exec --in`, `stop`, `logs`). */
  | 'POLYTHENE_BOX_NOT_FOUND';

// A registered symbol survives duplicate copies of this package in one process, which
// `instanceof` does not: a custom backend may bundle its own copy.
const brand: unique symbol = Symbol.for('polythene.error');

/** Options for {@link PolytheneError}. */
export interface PolytheneErrorOptions {
  /** The error this one wraps. */
  cause?: unknown;
}

/** The one error type Polythene throws: a code from a closed union and a one-line message. */
export class PolytheneError extends Error {
  /** What went wrong, as a stable machine-readable code. */
  readonly code: PolytheneErrorCode;

  constructor(code: PolytheneErrorCode, message: string, options: PolytheneErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PolytheneError';
    this.code = code;
    Object.defineProperty(this, brand, { value: true, enumerable: false });
  }
}

/** True for any `PolytheneError`, whichever copy of this package created it. */
export function isPolytheneError(value: unknown): value is PolytheneError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { [brand]?: unknown })[brand] === true &&
    typeof (value as { code?: unknown }).code === 'string'
  );
}

/** True when `value` is a `PolytheneError` with the given code. */
export function hasErrorCode(value: unknown, code: PolytheneErrorCode): value is PolytheneError {
  return isPolytheneError(value) && value.code === code;
}
