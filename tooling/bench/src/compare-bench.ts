import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTestImages } from '@polythene/test-images';
import { execa } from 'execa';
import { type CaseResult, measureInterleaved, report } from './measure.ts';
import { POLYTHENE_BIN } from './polythene-bin.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 40);

/**
 * `polythene exec -- /bin/true` of this checkout against another build of polythene (its
 * `polythene.cjs`, from `BENCH_OTHER_CLI`: for example a worktree of an earlier commit,
 * built), in the same run: does a change make exec's start-up worse? Each build has a store
 * and a code cache of its own (two builds with one version number would evict each other's
 * cache on every call). With the default pids limit and without it
 * (`POLYTHENE_PIDS_LIMIT=0`), against `node -e 0`.
 */
export async function benchCompare(): Promise<string[]> {
  const other = process.env.BENCH_OTHER_CLI;
  if (other === undefined || other === '') {
    process.stdout.write('compare bench skipped: set BENCH_OTHER_CLI to another polythene.cjs\n');
    return [];
  }
  const images = await ensureTestImages();
  const work = await mkdtemp(join(tmpdir(), 'polythene-bench-compare-'));
  try {
    const builds = await Promise.all(
      [
        ['this checkout', POLYTHENE_BIN],
        ['BENCH_OTHER_CLI', other],
      ].map(async ([label = '', bin = ''], index) => {
        const store = join(work, `store-${index}`);
        const env = {
          PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
          XDG_CACHE_HOME: join(work, `cache-${index}`),
        };
        const pulled = await execa(
          process.execPath,
          [bin, 'pull', images.busybox, '--store', store, '--quiet'],
          { env },
        );
        const argv = [bin, 'exec', pulled.stdout.trim(), '--store', store, '--isolation', 'bwrap'];
        return { label, env, argv: [...argv, '--', '/bin/true'] };
      }),
    );
    const cases = [
      { name: 'node -e 0', body: () => run(['-e', '0'], {}) },
      ...builds.flatMap((build) => [
        { name: `${build.label}: exec`, body: () => run(build.argv, build.env) },
        {
          name: `${build.label}: exec, POLYTHENE_PIDS_LIMIT=0`,
          body: () => run(build.argv, { ...build.env, POLYTHENE_PIDS_LIMIT: '0' }),
        },
      ]),
    ];
    const results = await measureInterleaved(cases, RUNS);
    const byName = (name: string) => results.find((entry) => entry.name === name) as CaseResult;
    return [
      report(
        `compare: exec start-up, this checkout vs ${other}`,
        [
          byName('BENCH_OTHER_CLI: exec'),
          byName('this checkout: exec'),
          byName('BENCH_OTHER_CLI: exec, POLYTHENE_PIDS_LIMIT=0'),
          byName('this checkout: exec, POLYTHENE_PIDS_LIMIT=0'),
          byName('node -e 0'),
        ],
        'BENCH_OTHER_CLI: exec',
      ),
    ];
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function run(args: readonly string[], env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      stdio: 'ignore',
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...env },
    });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`exited ${code}`))));
  });
}
