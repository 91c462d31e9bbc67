import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTestImages } from '@polythene/test-images';
import { execa } from 'execa';
import { measureInterleaved } from './measure.ts';
import { POLYTHENE_BIN } from './polythene-bin.ts';

const RUNS = Number(process.env.BENCH_MARK_RUNS ?? 40);
const BACKEND = process.env.BENCH_MARK_BACKEND ?? 'bwrap';
// Read by exec alone (core's mark-entry-in-use.ts): each exec appends what its mark cost.
const TIMES_FILE_ENV = 'POLYTHENE_BENCH_MARK_TIMES_FILE';
const GOAL_US = 200;

/**
 * What the in-use mark adds to one `polythene exec`, measured in the real built CLI: each
 * exec is a fresh process, so the mark runs cold, as users pay it. The CLI times its own mark
 * and release (markInUse's link(2), release's unlink(2), and the start-time read when nothing
 * read it before) when the bench sets POLYTHENE_BENCH_MARK_TIMES_FILE, and appends the
 * microseconds there. Baseline, in the same interleaved rounds: the same exec without that
 * switch. Two cases: the default run, whose pids cgroup already read the process's start time,
 * and POLYTHENE_PIDS_LIMIT=0, with no cgroup, where the mark reads it itself. Goal: under
 * 200 µs.
 */
export async function benchMark(): Promise<string[]> {
  const images = await ensureTestImages();
  const work = await mkdtemp(join(tmpdir(), 'polythene-bench-mark-'));
  try {
    const store = join(work, 'store');
    const pulled = await execa(process.execPath, [
      POLYTHENE_BIN,
      ...['pull', images.busybox, '--store', store, '--quiet'],
    ]);
    const id = pulled.stdout.trim();
    const argv = [POLYTHENE_BIN, 'exec', id, '--store', store, '-i', BACKEND, '--', '/bin/true'];
    const run = (env: Record<string, string>) => execa(process.execPath, argv, { env });
    const variants: { label: string; env: Record<string, string> }[] = [
      { label: 'default (pids cgroup)', env: {} },
      { label: 'POLYTHENE_PIDS_LIMIT=0 (no cgroup)', env: { POLYTHENE_PIDS_LIMIT: '0' } },
    ];
    const timesFiles = variants.map((_, index) => join(work, `times-${index}`));
    await Promise.all(timesFiles.map((file) => writeFile(file, '')));
    const results = await measureInterleaved(
      variants.flatMap((variant, index) => [
        { name: `exec, ${variant.label}`, body: () => run(variant.env) },
        {
          name: `exec, ${variant.label}, mark timed`,
          body: () => run({ ...variant.env, [TIMES_FILE_ENV]: timesFiles[index] as string }),
        },
      ]),
      RUNS,
    );
    const lines = [
      `## In-use mark (per exec, ${BACKEND}, ${RUNS} fresh processes each)`,
      '',
      '| case | exec median ms | mark median µs | mark p90 µs | mark ÷ exec |',
      '|---|---:|---:|---:|---:|',
    ];
    for (const [index, variant] of variants.entries()) {
      // The warm-up round's exec is the first line; measureInterleaved drops its time too.
      const marksUs = (await readFile(timesFiles[index] as string, 'utf8'))
        .split('\n')
        .filter(Boolean)
        .slice(1)
        .map(Number)
        .sort((a, b) => a - b);
      const execMs = results[index * 2]?.medianMs ?? Number.NaN;
      const medianUs = marksUs[Math.floor(marksUs.length / 2)] ?? Number.NaN;
      const p90Us = marksUs[Math.floor(marksUs.length * 0.9)] ?? Number.NaN;
      lines.push(
        `| ${variant.label} | ${execMs.toFixed(1)} | ${medianUs.toFixed(0)} | ${p90Us.toFixed(0)} | ${((medianUs / 1000 / execMs) * 100).toFixed(2)} % |`,
      );
    }
    lines.push(
      '',
      'exec median: the same exec without the timing switch, interleaved with the timed one.',
      `goal: mark median under ${GOAL_US} µs`,
      '',
    );
    const text = lines.join('\n');
    process.stdout.write(`${text}\n`);
    return [text];
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
