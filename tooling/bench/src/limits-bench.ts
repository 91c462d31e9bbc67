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
  const steps = measureCgroupSteps();
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
 * The default limit's own steps, in process, without the run between them: find the
 * hierarchies, sweep, create the cgroup with pids.max, enter and leave it, read its usage,
 * remove it. Less noisy than the whole exec on a busy machine.
 */
function measureCgroupSteps(): string {
  const hierarchies = findCgroupHierarchies();
  if (hierarchies.version === 'none')
    return '## exec limits: cgroup steps\n\nno writable cgroup here\n';
  const timesMs: number[] = [];
  for (let run = 0; run < 200; run++) {
    const start = performance.now();
    const found = findCgroupHierarchies();
    sweepStaleRunCgroups(found);
    const cgroup = createRunCgroup(found, { pidsLimit: 4096 });
    cgroup.enter();
    cgroup.leave();
    cgroup.readUsage();
    cgroup.dispose();
    timesMs.push(performance.now() - start);
  }
  timesMs.sort((a, b) => a - b);
  const median = timesMs[Math.floor(timesMs.length / 2)] ?? 0;
  return [
    `## exec limits: the default pids limit's cgroup steps alone (cgroup ${hierarchies.version}, 200 runs)`,
    '',
    '| case | median ms | min ms |',
    '|---|---:|---:|',
    `| find, sweep, create, enter, leave, read, remove | ${median.toFixed(3)} | ${(timesMs[0] ?? 0).toFixed(3)} |`,
    '',
  ].join('\n');
}
