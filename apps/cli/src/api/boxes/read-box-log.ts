import { readFile } from 'node:fs/promises';
import { boxLogPath, findBox } from '@polythene/core/internal/boxes/box-state';
import { openStoreFromOptions, type StoreOptions } from '@polythene/core/internal/store-options';

/** The box's log so far (its holder's and every detached command's output), as UTF-8. */
export async function readBoxLog(
  options: StoreOptions & { readonly box: string },
): Promise<string> {
  const store = await openStoreFromOptions(options, false, 'read');
  const box = await findBox(store.dir, options.box);
  try {
    return await readFile(boxLogPath(store.dir, box.record.id), 'utf8');
  } catch {
    return '';
  }
}
