import { parseDuration } from '@polythene/store';
import { startBox } from '../../api/boxes/start-box.ts';
import { lastString, type RawOptions, stringList } from '../../normalize-options.ts';
import { printJson, readCommandContext } from '../command-context.ts';
import { limitFlags } from '../exec/limit-flags.ts';

/** `polythene start ENTRY`: starts a box that stays up and prints its id. */
export async function startCommand(entry: string, options: RawOptions): Promise<number> {
  const context = readCommandContext(options);
  const expiry = lastString(options.expireAfter, '--expire-after');
  const box = await startBox({
    entry: String(entry),
    store: context.store,
    name: lastString(options.name, '--name'),
    expireAfterMs: expiry === undefined ? undefined : parseDuration(expiry),
    isolation: lastString(options.isolation, '--isolation'),
    env: stringList(options.env, '--env'),
    workdir: lastString(options.workdir, '--workdir'),
    user: lastString(options.user, '--user'),
    binds: stringList(options.bind, '--bind'),
    network: lastString(options.network, '--network'),
    publish: stringList(options.publish, '--publish'),
    ...limitFlags(options),
    logger: context.logger,
  });
  if (context.isJson) printJson(box);
  else process.stdout.write(`${box.id}\n`);
  return 0;
}
