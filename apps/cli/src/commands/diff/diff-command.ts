import { diff } from '../../api/store-operations.ts';
import type { RawOptions } from '../../normalize-options.ts';
import { printJson, readCommandContext } from '../command-context.ts';

/**
 * `polythene diff UUID`: what changed since the entry was pulled or cloned, one path a line
 * prefixed `A` (added), `M` (modified) or `D` (deleted), sorted by path; `--json` too.
 */
export async function diffCommand(uuid: string, options: RawOptions): Promise<number> {
  const context = readCommandContext(options);
  const changes = await diff(uuid, { store: context.store });
  if (context.isJson) {
    printJson(changes);
    return 0;
  }
  const lines = [
    ...changes.added.map((path) => ({ path, mark: 'A' })),
    ...changes.modified.map((path) => ({ path, mark: 'M' })),
    ...changes.deleted.map((path) => ({ path, mark: 'D' })),
  ].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  process.stdout.write(lines.map((line) => `${line.mark} ${line.path}\n`).join(''));
  return 0;
}
