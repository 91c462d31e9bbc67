import { remove } from '@polythene/core/internal/store-operations';
import { lastBoolean, type RawOptions } from '../../normalize-options.ts';
import { readCommandContext } from '../command-context.ts';

/**
 * `polythene rm UUID…`: removes entries; validates every id before removing any. Refuses an
 * entry commands run in (exit 1), unless `--force` stops them first.
 */
export async function rmCommand(uuids: string[], options: RawOptions): Promise<number> {
  const context = readCommandContext(options);
  const ids = uuids.map(String);
  const force = lastBoolean(options.force);
  // A running box holds its entry: refuse, naming it, or with --force stop it first.
  const { settleBoxesOfEntries } = await import('../../api/boxes/boxes-of-entry.ts');
  const { openStoreFromOptions } = await import('@polythene/core/internal/store-options');
  const store = await openStoreFromOptions({ store: context.store }, false);
  await settleBoxesOfEntries(store.dir, ids, force);
  await remove(ids, { store: context.store, force });
  for (const id of ids) context.logger.verbose(`removed ${id}`);
  return 0;
}
