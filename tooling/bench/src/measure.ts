import { readFileSync } from 'node:fs';
import { execa } from 'execa';

/** Timings of one benchmark case, in milliseconds. */
export interface CaseResult {
  readonly name: string;
  readonly runs: number;
  readonly medianMs: number;
  readonly minMs: number;
  /** Peak resident memory of the measured process, when measured (KiB). */
  readonly maxRssKiB?: number;
}

/** Runs `body` `runs` times after `warmup` untimed runs; returns median and min wall time. */
export async function measure(
  name: string,
  body: () => Promise<unknown>,
  options: {
    runs: number;
    warmup?: number;
    before?: () => Promise<unknown>;
    after?: () => Promise<unknown>;
  },
): Promise<CaseResult> {
  for (let index = 0; index < (options.warmup ?? 1); index += 1) {
    await options.before?.();
    await body();
    await options.after?.();
  }
  const timesMs: number[] = [];
  for (let index = 0; index < options.runs; index += 1) {
    await options.before?.();
    const startedAt = performance.now();
    await body();
    timesMs.push(performance.now() - startedAt);
    await options.after?.();
  }
  timesMs.sort((a, b) => a - b);
  return {
    name,
    runs: options.runs,
    medianMs: timesMs[Math.floor(timesMs.length / 2)] ?? Number.NaN,
    minMs: timesMs[0] ?? Number.NaN,
  };
}

/** Runs a shell pipeline; throws on failure so a broken baseline is never reported. */
export async function sh(script: string, env?: Record<string, string>): Promise<string> {
  const { stdout } = await execa('bash', ['-o', 'pipefail', '-c', script], { env });
  return stdout;
}

/** Peak RSS (VmHWM) in KiB of a command, polled from /proc every 5 ms. */
export async function measurePeakRssKiB(file: string, args: readonly string[]): Promise<number> {
  const child = execa(file, args, { reject: true });
  let peakKiB = 0;
  const timer = setInterval(() => {
    try {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const match = /VmHWM:\s+(\d+) kB/.exec(status);
      if (match) peakKiB = Math.max(peakKiB, Number(match[1]));
    } catch {
      // The process ended between ticks.
    }
  }, 5);
  try {
    await child;
  } finally {
    clearInterval(timer);
  }
  return peakKiB;
}

/** Prints a table of cases with their ratio to the baseline case. */
export function report(title: string, cases: readonly CaseResult[], baselineName: string): string {
  const baseline = cases.find((entry) => entry.name === baselineName);
  const lines = [
    `## ${title}`,
    '',
    '| case | median ms | min ms | × baseline |',
    '|---|---:|---:|---:|',
  ];
  for (const entry of cases) {
    const ratio = baseline ? (entry.medianMs / baseline.medianMs).toFixed(2) : '-';
    // A pipe in a case name would split the table's cell.
    const name = entry.name.replaceAll('|', '\\|');
    lines.push(`| ${name} | ${entry.medianMs.toFixed(1)} | ${entry.minMs.toFixed(1)} | ${ratio} |`);
  }
  lines.push('', `baseline: ${baselineName}`, '');
  const text = lines.join('\n');
  process.stdout.write(`${text}\n`);
  return text;
}

/** One case of {@link measureInterleaved}. */
export interface InterleavedCase {
  readonly name: string;
  readonly body: () => Promise<unknown>;
  /** Untimed preparation before every run of this case. */
  readonly before?: () => Promise<unknown>;
}

/**
 * Runs the cases in rounds (one warm-up round, then `runs` timed rounds), so that slow
 * drifts of the machine — page-cache pressure, dirty write-back — hit every case alike
 * instead of whichever ran last. Each round runs them in a new order: in a fixed order a case
 * always follows the same one, and one that follows a 35 ms Node start-up (its caches
 * evicted) was measured 0.4 ms slower than after a 5 ms one. The order comes from a fixed
 * seed, so reruns measure alike.
 */
export async function measureInterleaved(
  cases: readonly InterleavedCase[],
  runs: number,
): Promise<CaseResult[]> {
  const timesMs = cases.map(() => [] as number[]);
  const nextRandom = seededRandom(runs);
  for (let round = 0; round <= runs; round += 1) {
    for (const index of shuffledIndexes(cases.length, nextRandom)) {
      const entry = cases[index] as InterleavedCase;
      await entry.before?.();
      const startedAt = performance.now();
      await entry.body();
      if (round > 0) timesMs[index]?.push(performance.now() - startedAt);
    }
  }
  return cases.map((entry, index) => {
    const sorted = (timesMs[index] ?? []).sort((a, b) => a - b);
    return {
      name: entry.name,
      runs,
      medianMs: sorted[Math.floor(sorted.length / 2)] ?? Number.NaN,
      minMs: sorted[0] ?? Number.NaN,
    };
  });
}

/** `0, 1, …, count - 1` in a random order (Fisher–Yates). */
function shuffledIndexes(count: number, nextRandom: () => number): number[] {
  const indexes = Array.from({ length: count }, (_, index) => index);
  for (let last = count - 1; last > 0; last -= 1) {
    const pick = Math.floor(nextRandom() * (last + 1));
    [indexes[last], indexes[pick]] = [indexes[pick] as number, indexes[last] as number];
  }
  return indexes;
}

/** A small deterministic generator in [0, 1) (mulberry32): the same seed, the same orders. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = Math.imul(state ^ (state >>> 15), state | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}
