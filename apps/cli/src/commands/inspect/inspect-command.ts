import { inspect } from '@polythene/core/internal/store-operations';
import type { RawOptions } from '../../normalize-options.ts';
import { printJson, readCommandContext } from '../command-context.ts';

/** `polythene inspect UUID`: the recorded metadata as JSON. */
export async function inspectCommand(uuid: string, options: RawOptions): Promise<number> {
  const context = readCommandContext(options);
  printJson(await inspect(uuid, { store: context.store }));
  return 0;
}
