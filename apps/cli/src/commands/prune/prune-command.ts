import { prune } from '@polythene/core/internal/store-operations';
import { findCgroupHierarchies, sweepStaleRunCgroups } from '@polythene/probe';
import { lastString, type RawOptions } from '../../normalize-options.ts';
import { printJson, readCommandContext } from '../command-context.ts';

/** `polythene prune [--older-than DURATION]`. */
export async function pruneCommand(options: RawOptions): Promise<number> {
  const context = readCommandContext(options);
  // Run cgroups a SIGKILLed polythene left (each exec sweeps them too).
  for (const directory of sweepStaleRunCgroups(findCgroupHierarchies())) {
    context.logger.verbose(`removed stale cgroup ${directory}`);
  }
  const report = await prune({
    store: context.store,
    olderThan: lastString(options.olderThan, '--older-than'),
  });
  if (context.isJson) {
    printJson(report);
  } else {
    for (const id of report.removedIds) process.stdout.write(`${id}\n`);
    for (const { id, pids } of report.skippedInUse) {
      process.stderr.write(
        `polythene: skipped ${id}: commands are running in it (pids ${pids.join(', ')})\n`,
      );
    }
    for (const { id, dependentIds } of report.keptBases) {
      const users =
        dependentIds.length > 0
          ? `clones layered on it remain (${dependentIds.join(', ')})`
          : 'it is the base of a clone being made or of a running throwaway layer';
      process.stderr.write(`polythene: kept ${id}: ${users}\n`);
    }
    process.stderr.write(
      `polythene: removed ${report.removedIds.length} entries, ${report.removedTemporaries} stale temporaries, ${report.removedOrphanMetadata} orphan metadata files\n`,
    );
  }
  return 0;
}
