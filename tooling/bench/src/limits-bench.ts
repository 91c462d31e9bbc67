import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from '@polythene/cli';
import { createRunCgroup, findCgroupHierarchies, sweepStaleRunCgroups } from '@polythene/probe';
import { ensureTestImages } from '@polythene/test-images';
import { execa } from 'execa';
import { measureInterleaved, report } from './measure.ts';
import { POLYTHENE_BIN } from './polythene-bin.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 30);

function runCli(args: readonly string[], env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [POLYTHENE_BIN, ...args], {
      stdio: 'ignore',
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...env },
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`polythene exited ${code}`)),
    );
  });
}

/**
 * What the default pids limit (a cgroup per run: created, entered around the spawn, read,
 * removed) adds to an exec, CLI and API, against `POLYTHENE_PIDS_LIMIT=0` (no cgroup), and
 * what `--memory` and `--cpus` add on top. Interleaved; the load average is in the title
 * because the machine is shared. Goal: the default limit adds at most 1 ms.
 */
export async function benchLimits(): Promise<string[]> {
  const images = await ensureTestImages();
  const work = await mkdtemp(join(tmpdir(), 'polythene-bench-limits-'));
  const store = join(work, 'store');
  const { stdout } = await execa(process.execPath, [
    POLYTHENE_BIN,
    'pull',
    images.busybox,
    '--store',
    store,
    '--quiet',
  ]);
  const id = stdout.trim();
  const cliArgs = (flags: readonly string[]) => [
    'exec',
    id,
    '--store',
    store,
    '--isolation',
    'bwrap',
    ...flags,
    '--',
    '/bin/true',
  ];
  const names = {
    cliNone: 'CLI exec, POLYTHENE_PIDS_LIMIT=0 (no cgroup)',
    cliDefault: 'CLI exec, default pids limit',
    cliAll: 'CLI exec --memory 256m --cpus 1',
    apiNone: 'API exec({ pidsLimit: 0 })',
    apiDefault: 'API exec() with the default pids limit',
  };
  const api = (pidsLimit?: number) =>
    exec({
      id,
      store,
      isolation: 'bwrap',
      command: ['/bin/true'],
      ...(pidsLimit !== undefined ? { pidsLimit } : {}),
    });
  const load = loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');
  const results = await measureInterleaved(
    [
      { name: names.cliNone, body: () => runCli(cliArgs([]), { POLYTHENE_PIDS_LIMIT: '0' }) },
      { name: names.cliDefault, body: () => runCli(cliArgs([]), {}) },
      { name: names.cliAll, body: () => runCli(cliArgs(['--memory', '256m', '--cpus', '1']), {}) },
      { name: names.apiNone, body: () => api(0) },
      { name: names.apiDefault, body: () => api() },
    ],
    RUNS,
  );
  await rm(work, { recursive: true, force: true });
  const steps = await measureCgroupSteps();
  process.stdout.write(`${steps}\n`);
  const pick = (...wanted: string[]) => results.filter((entry) => wanted.includes(entry.name));
  return [
    report(
      `exec limits: CLI, bwrap (load average at start ${load})`,
      pick(names.cliNone, names.cliDefault, names.cliAll),
      names.cliNone,
    ),
    report(
      `exec limits: API, bwrap (load average at start ${load})`,
      pick(names.apiNone, names.apiDefault),
      names.apiNone,
    ),
    steps,
  ];
}

/**
 * The default limit's own steps, in process, without the run between them, each after a
 * pause long enough that the kernel's cgroup move lock is idle again (as at a CLI exec's
 * start): find the hierarchies, sweep, create the cgroup with pids.max, start the early
 * entry, then (once it is in) enter, leave, read its usage and remove it. What the thread
 * is blocked for is the cost an exec pays; the wait for the entry overlaps the run's
 * preparation.
 */
async function measureCgroupSteps(): Promise<string> {
  const hierarchies = findCgroupHierarchies();
  if (hierarchies.version === 'none')
    return '## exec limits: cgroup steps\n\nno writable cgroup here\n';
  const runs = 40;
  const rows: string[] = [];
  const median = (values: number[]) =>
    [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
  const min = (values: number[]) => Math.min(...values);
  // The CLI's way (moves from a pool thread) and the API's (moves on its thread at the spawn).
  for (const movesInBackground of [true, false]) {
    const blockedMs: number[] = [];
    const entryWaitMs: number[] = [];
    for (let run = 0; run < runs; run++) {
      await new Promise((resolve) => setTimeout(resolve, 60));
      let start = performance.now();
      const found = findCgroupHierarchies();
      sweepStaleRunCgroups(found);
      const cgroup = createRunCgroup(found, { pidsLimit: 4096 }, { movesInBackground });
      const entering = cgroup.enterEarly();
      let blocked = performance.now() - start;
      const waitStart = performance.now();
      await entering;
      entryWaitMs.push(performance.now() - waitStart);
      start = performance.now();
      cgroup.enter();
      cgroup.leave();
      cgroup.readUsage();
      blocked += performance.now() - start;
      blockedMs.push(blocked);
      await cgroup.dispose();
    }
    const way = movesInBackground ? 'CLI, moves in the background' : 'API, moves at the spawn';
    rows.push(
      `| ${way}: thread blocked (find, sweep, create, start the entry; enter, leave, read) | ${median(blockedMs).toFixed(3)} | ${min(blockedMs).toFixed(3)} |`,
      `| ${way}: waited for the early entry (overlaps loading and preparing the run) | ${median(entryWaitMs).toFixed(3)} | ${min(entryWaitMs).toFixed(3)} |`,
    );
  }
  return [
    `## exec limits: the default pids limit's cgroup steps alone (cgroup ${hierarchies.version}, ${runs} runs each, each after 60 ms idle)`,
    '',
    '| case | median ms | min ms |',
    '|---|---:|---:|',
    ...rows,
    '',
  ].join('\n');
}
