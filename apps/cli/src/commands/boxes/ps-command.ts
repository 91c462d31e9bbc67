import { listBoxes } from '@polythene/core/internal/boxes/box-state';
import { openStoreFromOptions } from '@polythene/core/internal/store-options';
import type { RawOptions } from '../../normalize-options.ts';
import { printJson, readCommandContext } from '../command-context.ts';
import { formatForTerminal } from '../format-for-terminal.ts';

/** `polythene ps`: the running boxes (a dead one is cleaned away, not shown). */
export async function psCommand(options: RawOptions): Promise<number> {
  const context = readCommandContext(options);
  const store = await openStoreFromOptions({ store: context.store }, false, 'read');
  const boxes = (await listBoxes(store.dir)).map((box) => ({
    id: box.record.id,
    name: box.record.name ?? null,
    entry: box.record.entry,
    started: box.record.started,
    lastUsed: box.lastUsed,
    backend: box.holder?.backend ?? null,
    state: box.state,
  }));
  if (context.isJson) {
    printJson(boxes);
    return 0;
  }
  const rows = [
    ['ID', 'NAME', 'ENTRY', 'STARTED', 'LAST USED', 'BACKEND'],
    ...boxes.map((box) => [
      box.id,
      box.name ?? '-',
      box.entry,
      box.started,
      box.lastUsed,
      box.backend ?? box.state,
    ]),
  ].map((row) => row.map((cell) => formatForTerminal(cell)));
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  for (const row of rows) {
    process.stdout.write(
      `${row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join('  ')
        .trimEnd()}\n`,
    );
  }
  return 0;
}
