import { load } from '@polythene/core/internal/archive/load-entry';
import type { RawOptions } from '../../normalize-options.ts';
import { printJson, readCommandContext } from '../command-context.ts';

/** `polythene load FILE`: prints the entry's UUID (or `--json` `{id, isNew}`). */
export async function loadCommand(file: string, options: RawOptions): Promise<number> {
  const context = readCommandContext(options);
  const result = await load(String(file), { store: context.store });
  if (!result.isNew) context.logger.verbose(`entry ${result.id} is already here: nothing to do`);
  if (context.isJson) printJson(result);
  else process.stdout.write(`${result.id}\n`);
  return 0;
}
