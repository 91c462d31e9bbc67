import { commit } from '@polythene/core/internal/archive/commit-entry';
import { lastString, type RawOptions, stringList } from '../../normalize-options.ts';
import { printJson, readCommandContext } from '../command-context.ts';

/** `polythene commit ENTRY IMAGE [--change …]`: prints the new image id (or `--json`). */
export async function commitCommand(
  entry: string,
  image: string,
  options: RawOptions,
): Promise<number> {
  const context = readCommandContext(options);
  const result = await commit(entry, image, {
    store: context.store,
    changes: stringList(options.change, '--change'),
    archive: lastString(options.archive, '--archive'),
  });
  if (context.isJson) printJson(result);
  else process.stdout.write(`${result.imageId}\n`);
  return 0;
}
