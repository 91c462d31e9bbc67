import { clone } from '@polythene/core/internal/store-operations';
import { cliBackends } from '../../engine.ts';
import { lastString, oneOf, type RawOptions, stringList } from '../../normalize-options.ts';
import { printJson, readCommandContext } from '../command-context.ts';

/** `polythene clone ENTRY [--name NAME]`: prints the new entry's UUID (or `--json` metadata). */
export async function cloneCommand(uuid: string, options: RawOptions): Promise<number> {
  const context = readCommandContext(options);
  const metadata = await clone(uuid, {
    ...cliBackends(),
    store: context.store,
    method: oneOf(options.method, '--method', ['auto', 'overlay', 'copy'] as const),
    backendModules: stringList(options.backendModule, '--backend-module'),
    name: lastString(options.name, '--name'),
  });
  context.logger.verbose(`cloned ${uuid} into ${metadata.id} (${metadata.layout ?? 'directory'})`);
  if (context.isJson) printJson(metadata);
  else process.stdout.write(`${metadata.id}\n`);
  return 0;
}
