import { createLogger, isVerboseEnv, type Logger } from '@polythene/core/internal/logger';
import { lastBoolean, lastString, type RawOptions } from '../normalize-options.ts';

/** What every command reads from the global options and the environment. */
export interface CommandContext {
  /** `--store`, when given (the API falls back to POLYTHENE_STORE, then the default). */
  readonly store: string | undefined;
  readonly logger: Logger;
  readonly isJson: boolean;
}

/** Normalises the options every command shares. */
export function readCommandContext(options: RawOptions, isQuiet = false): CommandContext {
  return {
    store: lastString(options.store, '--store'),
    logger: createLogger({ isVerbose: isVerboseEnv(process.env), isQuiet }),
    isJson: lastBoolean(options.json),
  };
}

/** Writes a JSON document to stdout, the only thing there. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
