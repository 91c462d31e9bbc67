import { PolytheneError } from '@polythene/errors';
import { openStore, resolveEntryRef, resolveStoreDir } from '@polythene/store';
import { resolveBoxBinds } from './box-binds.ts';
import type { BoxOptions } from './box-types.ts';
import { chooseBoxMethod } from './choose-box-method.ts';
import { createBox } from './create-box.ts';
import { createLiveBox } from './create-live-box.ts';
import { findBackends } from './find-backends.ts';
import type { LiveBoxOptions } from './live-box-types.ts';
import type { ImageOptions, PolytheneImage } from './open-image.ts';

/** Options for {@link openEntry} (`polythene.entry`): those of `polythene.image` but pulling. */
export type EntryOptions = Omit<ImageOptions, 'pullPolicy'>;

/**
 * An entry already in the store, by name or UUID (one prepared with `polythene pull --name`,
 * `clone --name` or `load`), ready to hand out boxes like `polythene.image`. The entry is
 * never written to: every box is a throwaway layer or copy over it. Throws
 * `POLYTHENE_ROOTFS_NOT_FOUND` when the store has no usable entry of that name or id.
 */
export async function openEntry(ref: string, options: EntryOptions = {}): Promise<PolytheneImage> {
  const hostEnv = options.hostEnv ?? process.env;
  const store = await openStore(resolveStoreDir({ flag: options.store, env: hostEnv }));
  const id = resolveEntryRef(store.dir, ref);
  const entry = await store.getEntry(id);
  if (entry.status !== 'ok')
    throw new PolytheneError(
      'POLYTHENE_ROOTFS_NOT_FOUND',
      `store entry ${ref} cannot be used (${entry.status}); see \`polythene list\``,
    );
  const isolation = options.isolation ?? (hostEnv.POLYTHENE_ISOLATION || undefined);
  const backends = await findBackends(options.backends);
  const boxMethod = await chooseBoxMethod({
    requested: options.boxMethod ?? 'auto',
    isolation,
    hostEnv,
    backends,
  });
  return {
    ref,
    id,
    store: store.dir,
    boxMethod,
    isFreshPull: false,
    // As `polythene.image` does: a live box with `keepAlive`, else a disposable one.
    box: (async (boxOptions?: LiveBoxOptions | BoxOptions) => {
      if (boxOptions !== undefined && 'keepAlive' in boxOptions && boxOptions.keepAlive === true) {
        return createLiveBox({ ...boxOptions, store: store.dir, entryId: id, isolation, hostEnv });
      }
      const { binds, workspace, network, ...limits } = (boxOptions ?? {}) as BoxOptions;
      return createBox({
        store,
        ref,
        entryId: id,
        method: boxMethod,
        isolation,
        backends,
        hostEnv,
        limits,
        ...resolveBoxBinds({ binds, workspace }, process.cwd()),
        ...(network === undefined ? {} : { network }),
      });
    }) as PolytheneImage['box'],
  };
}
