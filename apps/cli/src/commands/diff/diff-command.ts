import { diff } from '@polythene/core/internal/store-operations';
import type { RawOptions } from '../../normalize-options.ts';
import { printJson, readCommandContext } from '../command-context.ts';
import { formatForTerminal } from '../format-for-terminal.ts';

/**
 * `polythene diff UUID`: what changed since the entry was pulled or cloned, one path a line
 * prefixed `A` (added), `M` (modified) or `D` (deleted), sorted by path, control characters
 * escaped; `--json` gives the exact paths. An unchanged entry prints nothing, or `no changes`
 * when stdout is a terminal.
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
  // Nothing on a pipe (a script reads "no output" as "no changes"); a person at a terminal
  // gets a line, so that silence is not mistaken for a hang or a failure.
  if (lines.length === 0) {
    if (process.stdout.isTTY) process.stdout.write('no changes\n');
    return 0;
  }
  // Names the command made: one line each, whatever bytes they hold (`--json` is exact).
  process.stdout.write(
    lines.map((line) => `${line.mark} ${formatForTerminal(line.path)}\n`).join(''),
  );
  return 0;
}
