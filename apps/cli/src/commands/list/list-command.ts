import { parseEntryFilters } from '@polythene/core/internal/entry-filters';
import { list } from '@polythene/core/internal/store-operations';
import { type RawOptions, stringList } from '../../normalize-options.ts';
import { printJson, readCommandContext } from '../command-context.ts';
import { formatForTerminal } from '../format-for-terminal.ts';

/**
 * `polythene list [--filter KEY=PATTERN…]`: id, name, image, created, size (an overlay clone's
 * own), kind (base, clone); orphans marked as such.
 */
export async function listCommand(options: RawOptions): Promise<number> {
  const context = readCommandContext(options);
  const filters = parseEntryFilters(stringList(options.filter, '--filter'));
  const entries = await list({ store: context.store, filters });
  const baseIds = new Set(entries.flatMap((entry) => entry.lowerIds ?? []));
  if (context.isJson) {
    printJson(
      entries.map((entry) => ({
        id: entry.id,
        name: entry.name ?? null,
        status: entry.status,
        image: entry.metadata?.image ?? null,
        createdAt: entry.createdAt,
        sizeBytes: entry.sizeBytes ?? entry.metadata?.sizeBytes ?? null,
        path: entry.path,
        layout: entry.layout,
        lowerIds: entry.lowerIds ?? [],
        isBase: baseIds.has(entry.id),
      })),
    );
    return 0;
  }
  // Ids of hand-made entries and image names come from whoever wrote the store: escaped.
  const rows = entries.map((entry) =>
    [
      entry.id,
      entry.name ?? '',
      entry.status === 'ok' ? (entry.metadata?.image ?? '') : `(${entry.status})`,
      entry.createdAt,
      formatBytes(entry.sizeBytes ?? entry.metadata?.sizeBytes),
      describeKind(entry.layout === 'overlay', baseIds.has(entry.id)),
    ].map(formatForTerminal),
  );
  process.stdout.write(formatTable(['ID', 'NAME', 'IMAGE', 'CREATED', 'SIZE', 'KIND'], rows));
  return 0;
}

/**
 * `base` (an overlay clone's lower: rm refuses it while clones exist), `clone` (an overlay
 * clone: SIZE is what it adds), both, or empty for a plain entry.
 */
function describeKind(isClone: boolean, isBase: boolean): string {
  return [isClone ? 'clone' : '', isBase ? 'base' : ''].filter(Boolean).join(', ');
}

/** Left-aligned columns separated by two spaces. */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const all = [header, ...rows];
  const widths = header.map((_, column) =>
    Math.max(...all.map((row) => (row[column] ?? '').length)),
  );
  return all
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
    .concat('\n');
}

function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}
