import { rename } from '@polythene/core/internal/store-operations';
import type { RawOptions } from '../../normalize-options.ts';
import { readCommandContext } from '../command-context.ts';

/** `polythene rename ENTRY NAME`: gives the entry its new name (its only one); prints nothing. */
export async function renameCommand(
  entry: string,
  name: string,
  options: RawOptions,
): Promise<number> {
  const context = readCommandContext(options);
  const renamed = await rename(entry, name, { store: context.store });
  context.logger.verbose(`named ${renamed.id} ${renamed.name}`);
  return 0;
}
