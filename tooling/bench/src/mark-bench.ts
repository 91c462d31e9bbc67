import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newEntryId, openStore, readProcessStartTime } from '@polythene/store';

const ITERATIONS = Number(process.env.BENCH_MARK_ITERATIONS ?? 20_000);

/**
 * What the in-use mark adds to one exec: `markInUse` + `release` (one link(2), one
 * unlink(2)), plus the one read of this process's start time from /proc that a fresh
 * `polythene exec` makes. Goal: under 0.2 ms in all.
 */
export async function benchMark(): Promise<string[]> {
  const base = await mkdtemp(join(tmpdir(), 'polythene-bench-mark-'));
  try {
    const store = await openStore(join(base, 'store'));
    const id = newEntryId();
    store.markInUse(id).release(); // makes .inuse and its anchor, as the first exec does
    const markMs = perCallMs(() => store.markInUse(id).release());
    const startTimeMs = perCallMs(() => readProcessStartTime(process.pid));
    const lines = [
      '## In-use mark (per exec)',
      '',
      '| part | µs |',
      '|---|---:|',
      `| link + unlink (markInUse, release) | ${(markMs * 1000).toFixed(1)} |`,
      `| read /proc/self/stat (once per process) | ${(startTimeMs * 1000).toFixed(1)} |`,
      `| total | ${((markMs + startTimeMs) * 1000).toFixed(1)} |`,
      '',
      'goal: total under 200 µs',
      '',
    ];
    const text = lines.join('\n');
    process.stdout.write(`${text}\n`);
    return [text];
  } finally {
    await rm(base, { recursive: true, force: true });
  }
}

function perCallMs(body: () => unknown): number {
  for (let index = 0; index < 1000; index += 1) body();
  const startedAt = performance.now();
  for (let index = 0; index < ITERATIONS; index += 1) body();
  return (performance.now() - startedAt) / ITERATIONS;
}
