import { writeSync } from 'node:fs';
import { assertOptions, kinds } from './check-arguments.ts';

/** Where progress and verbose lines go: always stderr, never stdout (stdout is the result). */
export interface Logger {
  /** True when `POLYTHENE_VERBOSE` (or `--verbose`) asked for step-by-step logs. */
  readonly isVerbose: boolean;
  /** A verbose line, timestamped; dropped unless verbose. */
  verbose(message: string): void;
  /** A warning line, always shown unless quiet. */
  warn(message: string): void;
}

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  /** Log each step with a timestamp. */
  readonly isVerbose: boolean;
  /** Drop warnings too (`--quiet`). */
  readonly isQuiet?: boolean;
  /** Sink for lines; defaults to {@link writeToStderr}. */
  readonly write?: (line: string) => void;
}

/** Creates the stderr logger the commands share. */
export function createLogger(options: LoggerOptions): Logger {
  assertOptions(
    { name: 'createLogger', form: 'createLogger({ isVerbose: true, isQuiet, write })' },
    options,
    { isVerbose: kinds.boolean, isQuiet: kinds.boolean, write: kinds.function },
    true,
  );
  const write = options.write ?? writeToStderr;
  return {
    isVerbose: options.isVerbose,
    verbose(message) {
      if (options.isVerbose) write(`polythene ${new Date().toISOString()} ${message}\n`);
    },
    warn(message) {
      if (!options.isQuiet) write(`polythene: warning: ${message}\n`);
    },
  };
}

/**
 * Writes a line to fd 2 directly. Creating `process.stderr` costs an exec about 3 ms (it loads
 * Node's stream machinery), and a run with a warning (proot) would pay it for one line. Writes
 * stay in order with `process.stderr`'s, which are synchronous for files, pipes and terminals.
 */
export function writeToStderr(line: string): void {
  const bytes = Buffer.from(line);
  let offset = 0;
  try {
    while (offset < bytes.length) offset += writeSync(2, bytes, offset);
  } catch (error) {
    // A non-blocking stderr that is full: let the stream queue the rest. A closed one: drop it.
    if ((error as NodeJS.ErrnoException).code === 'EAGAIN') {
      process.stderr.write(bytes.subarray(offset));
    }
  }
}

/** A logger that drops everything, for the programmatic API's default. */
export const silentLogger: Logger = { isVerbose: false, verbose() {}, warn() {} };

/** True when the `POLYTHENE_VERBOSE` variable is set to any non-empty value (the Python tool's contract). */
export function isVerboseEnv(env: Readonly<Record<string, string | undefined>>): boolean {
  return (env.POLYTHENE_VERBOSE ?? '') !== '';
}
