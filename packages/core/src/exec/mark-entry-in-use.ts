import { appendFileSync } from 'node:fs';
import type { InUseMark, Store } from '@polythene/store';

/**
 * Set by the bench alone (`pnpm bench mark`): a file to which each exec appends the
 * microseconds its in-use mark cost (the mark and its release), so the bench measures what a
 * real `polythene exec` pays, cold, in its own process.
 */
export const BENCH_MARK_TIMES_FILE_ENV = 'POLYTHENE_BENCH_MARK_TIMES_FILE';

/** Marks entry `id` as in use for one run: {@link Store.markInUse}, timed for the bench. */
export function markEntryInUse(store: Store, id: string, hostEnv: NodeJS.ProcessEnv): InUseMark {
  const timesFile = hostEnv[BENCH_MARK_TIMES_FILE_ENV];
  if (timesFile === undefined || timesFile === '') return store.markInUse(id);
  process.hrtime.bigint(); // its own first call, out of the measurement
  const markedAt = process.hrtime.bigint();
  const mark = store.markInUse(id);
  const markNs = process.hrtime.bigint() - markedAt;
  return {
    isMarked: mark.isMarked,
    release() {
      const releasedAt = process.hrtime.bigint();
      mark.release();
      const releaseNs = process.hrtime.bigint() - releasedAt;
      appendFileSync(timesFile, `${Number(markNs + releaseNs) / 1000}\n`);
    },
  };
}
