import { resolve } from 'node:path';
import { PolytheneError } from '@polythene/errors';

/** Where root filesystems are kept when neither `--store` nor `POLYTHENE_STORE` says otherwise. */
export const DEFAULT_STORE_DIR = '/var/tmp/polythene';

/** Inputs to {@link resolveStoreDir}. */
export interface ResolveStoreDirOptions {
  /** The `--store` flag value, if given. An empty string is a usage error. */
  flag?: string;
  /** The environment to read `POLYTHENE_STORE` from (an empty value counts as unset). */
  env?: Record<string, string | undefined>;
  /** Directory relative paths are resolved against; defaults to `process.cwd()`. */
  cwd?: string;
}

/**
 * Picks the store directory: the flag, else `POLYTHENE_STORE`, else {@link DEFAULT_STORE_DIR};
 * returns an absolute path.
 */
export function resolveStoreDir(options: ResolveStoreDirOptions = {}): string {
  const { flag, env = {} } = options;
  if (flag !== undefined && flag.length === 0) {
    throw new PolytheneError(
      'POLYTHENE_USAGE',
      '--store needs a directory: pass --store DIR or leave it out to use POLYTHENE_STORE or the default',
    );
  }
  const chosen = flag ?? (env.POLYTHENE_STORE ? env.POLYTHENE_STORE : DEFAULT_STORE_DIR);
  return resolve(options.cwd ?? process.cwd(), chosen);
}
