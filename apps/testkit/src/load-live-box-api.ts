import { PolytheneError } from '@polythene/errors';

/** The functions of the `polythene` CLI package that a box that stays up needs. */
export type LiveBoxApi = Pick<
  typeof import('polythene'),
  'execInBox' | 'readBoxLog' | 'spawnInBox' | 'startBox' | 'stopBox'
>;

/**
 * A box that stays up (`keepAlive`) is held by the `polythene` CLI's keeper process, so it
 * needs the CLI package, an optional peer dependency of the testkit (disposable boxes need
 * only @polythene/core and a backend). Missing: a `POLYTHENE_SETUP_FAILED` saying to add it.
 */
export async function loadLiveBoxApi(): Promise<LiveBoxApi> {
  try {
    return await import('polythene');
  } catch (error) {
    const { code } = (error ?? {}) as { code?: unknown };
    if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') throw error;
    throw new PolytheneError(
      'POLYTHENE_SETUP_FAILED',
      'image.box({ keepAlive: true }) needs the polythene CLI package, which keeps the box: add polythene to your devDependencies',
      { cause: error },
    );
  }
}
