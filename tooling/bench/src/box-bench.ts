import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTestImages } from '@polythene/test-images';
import { execa } from 'execa';
import { type CaseResult, measureInterleaved, report } from './measure.ts';
import { POLYTHENE_BIN } from './polythene-bin.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const NSENTER = 'nsenter -a -r -w (bare)';
const EXEC_IN = 'polythene exec --in BOX';
const FRESH = 'polythene exec UUID (fresh, bwrap)';

// A plain environment: an inherited NODE_EXTRA_CA_CERTS (set for npm behind a proxy) makes
// every node start ~35 ms slower while it reads the certificates, `node -e 0` and polythene
// alike, which flattered the ratio (1.19 where it is 1.47).
function run(file: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: 'ignore',
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${file} exited ${code}`)),
    );
  });
}

/**
 * `polythene exec --in BOX -- /bin/true` (a running bwrap box) against a fresh
 * `polythene exec UUID -- /bin/true`, `node -e 0` and a bare `nsenter` into the same box. The
 * issue's goal: at most 1.2 × (`node -e 0` + bare nsenter), and less than a fresh exec.
 */
export async function benchBoxes(): Promise<string[]> {
  const images = await ensureTestImages();
  const work = await mkdtemp(join(tmpdir(), 'polythene-bench-boxes-'));
  const store = join(work, 'store');
  // `--store` first: whatever follows `--` is the command's.
  const cli = (command: string, ...args: string[]): Promise<void> =>
    run(process.execPath, [POLYTHENE_BIN, command, '--store', store, ...args]);
  let boxId: string | undefined;
  try {
    const pulled = await execa(process.execPath, [
      POLYTHENE_BIN,
      'pull',
      images.busybox,
      '--store',
      store,
      '--quiet',
    ]);
    const id = pulled.stdout.trim();
    const started = await execa(process.execPath, [
      POLYTHENE_BIN,
      'start',
      id,
      '--store',
      store,
      '--isolation',
      'bwrap',
      '--json',
    ]);
    const box = JSON.parse(started.stdout) as { id: string };
    boxId = box.id;
    const holder = JSON.parse(
      await readFile(join(store, '.boxes', box.id, 'holder.json'), 'utf8'),
    ) as { pid: number };
    const results = await measureInterleaved(
      [
        { name: 'node -e 0', body: () => run(process.execPath, ['-e', '0']) },
        {
          name: NSENTER,
          body: () => run('nsenter', ['-t', String(holder.pid), '-a', '-r', '-w', '/bin/true']),
        },
        {
          name: EXEC_IN,
          body: () => cli('exec', '--in', box.id, '--', '/bin/true'),
        },
        {
          name: FRESH,
          body: () => cli('exec', id, '--isolation', 'bwrap', '--', '/bin/true'),
        },
      ],
      RUNS,
    );
    const byName = (name: string): CaseResult => {
      const found = results.find((each) => each.name === name);
      if (found === undefined) throw new Error(`bench case ${name} did not run`);
      return found;
    };
    const node = byName('node -e 0');
    const nsenter = byName(NSENTER);
    // The goal: exec --in at most 1.2 × this budget, and below a fresh exec.
    const budget: CaseResult = {
      name: 'budget: node -e 0 + bare nsenter',
      runs: RUNS,
      medianMs: node.medianMs + nsenter.medianMs,
      minMs: node.minMs + nsenter.minMs,
    };
    return [
      report('exec --in a running box vs a fresh exec', results, 'node -e 0'),
      report(
        'exec --in a running box vs node start-up + bare nsenter (goal: at most 1.20)',
        [budget, node, nsenter, byName(EXEC_IN), byName(FRESH)],
        budget.name,
      ),
    ];
  } finally {
    // Before its store goes: a box left running would outlive the bench.
    if (boxId !== undefined) await cli('stop', boxId).catch(() => {});
    await rm(work, { recursive: true, force: true });
  }
}
