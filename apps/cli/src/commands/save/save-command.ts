import { save } from '@polythene/core/internal/archive/save-entry';
import { lastString, type RawOptions } from '../../normalize-options.ts';
import { printJson, readCommandContext } from '../command-context.ts';

/** `polythene save ENTRY -o FILE`: writes the archive; `--json` prints `{id, path, sizeBytes}`. */
export async function saveCommand(entry: string, options: RawOptions): Promise<number> {
  const context = readCommandContext(options);
  const result = await save(entry, {
    store: context.store,
    output: lastString(options.output, '--output') ?? '',
  });
  context.logger.verbose(`saved ${result.id} to ${result.path} (${result.sizeBytes} bytes)`);
  if (context.isJson) printJson(result);
  return 0;
}
