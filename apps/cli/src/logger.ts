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
  /** Sink for lines; defaults to process.stderr. */
  readonly write?: (line: string) => void;
}

/** Creates the stderr logger the commands share. */
export function createLogger(options: LoggerOptions): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(line));
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

/** A logger that drops everything, for the programmatic API's default. */
export const silentLogger: Logger = { isVerbose: false, verbose() {}, warn() {} };

/** True when the `POLYTHENE_VERBOSE` variable is set to any non-empty value (the Python tool's contract). */
export function isVerboseEnv(env: Readonly<Record<string, string | undefined>>): boolean {
  return (env.POLYTHENE_VERBOSE ?? '') !== '';
}
