import { resolve } from 'node:path';
import { PolytheneError } from '@polythene/errors';

/**
 * Root's store when neither `--store` nor `POLYTHENE_STORE` says otherwise; any other user
 * gets `/var/tmp/polythene-<uid>` (see {@link defaultStoreDir}).
 */
export const DEFAULT_STORE_DIR = '/var/tmp/polythene';

/**
 * The default store of user `uid` (default: the running user): {@link DEFAULT_STORE_DIR} for
 * root, `/var/tmp/polythene-<uid>` for anyone else. One shared path would belong to whoever
 * created it first, and a store owned by someone else is refused.
 */
export function defaultStoreDir(uid: number | undefined = process.getuid?.()): string {
  return uid === undefined || uid === 0 ? DEFAULT_STORE_DIR : `${DEFAULT_STORE_DIR}-${uid}`;
}

/** Inputs to {@link resolveStoreDir}. */
export interface ResolveStoreDirOptions {
  /** The `--store` flag value, if given. An empty string is a usage error. */
  flag?: string;
  /** The environment to read `POLYTHENE_STORE` from (an empty value counts as unset). */
  env?: Record<string, string | undefined>;
  /** Directory relative paths are resolved against; defaults to `process.cwd()`. */
  cwd?: string;
  /** Whose default store to pick; defaults to the running user's uid. */
  uid?: number;
}

/**
 * Picks the store directory: the flag, else `POLYTHENE_STORE`, else the user's
 * {@link defaultStoreDir}; returns an absolute path.
 */
export function resolveStoreDir(options: ResolveStoreDirOptions = {}): string {
  const { flag, env = {} } = options;
  if (flag !== undefined && flag.length === 0) {
    throw new PolytheneError(
      'POLYTHENE_USAGE',
      '--store needs a directory: pass --store DIR or leave it out to use POLYTHENE_STORE or the default',
    );
  }
  const chosen = flag ?? (env.POLYTHENE_STORE ? env.POLYTHENE_STORE : defaultStoreDir(options.uid));
  return resolve(options.cwd ?? process.cwd(), chosen);
}
