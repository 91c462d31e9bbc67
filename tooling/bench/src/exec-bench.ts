import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTestImages } from '@polythene/test-images';
import { execa } from 'execa';
import { exec } from 'polythene';
import { type CaseResult, measure, report } from './measure.ts';
import { POLYTHENE_BIN } from './polythene-bin.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 30);

/** Spawns a command from Node and waits for it: the "bare backend from Node" baseline. */
function spawnAndWait(file: string, args: readonly string[]): Promise<void> {
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

/** The minimal command line of each backend that runs /bin/true in the rootfs. */
function bareCommandLine(backend: string, rootfs: string): [string, string[]] {
  switch (backend) {
    case 'bwrap':
      return [
        'bwrap',
        [
          '--unshare-all',
          '--die-with-parent',
          '--new-session',
          '--bind',
          rootfs,
          '/',
          '--proc',
          '/proc',
          '--dev',
          '/dev',
          '--cap-drop',
          'ALL',
          '--clearenv',
          '/bin/true',
        ],
      ];
    case 'proot':
      return ['proot', ['-r', rootfs, '-0', '/bin/true']];
    default:
      return ['chroot', [rootfs, '/bin/true']];
  }
}

/**
 * `polythene exec UUID -- /bin/true` per backend against the bare backend command line and
 * `node -e 0`, and the programmatic API against spawning the bare backend from Node.
 */
export async function benchExec(): Promise<string[]> {
  const images = await ensureTestImages();
  const work = await mkdtemp(join(tmpdir(), 'polythene-bench-exec-'));
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
  const rootfs = join(store, id);
  const sections: string[] = [];

  const nodeStartup = await measure(
    'node -e 0',
    () => spawnAndWait(process.execPath, ['-e', '0']),
    { runs: RUNS },
  );
  for (const backend of ['bwrap', 'proot', 'chroot']) {
    const [file, args] = bareCommandLine(backend, rootfs);
    const bare = await measure(
      `bare ${file} /bin/true (from Node)`,
      () => spawnAndWait(file, args),
      { runs: RUNS },
    );
    const cli = await measure(
      `polythene exec --isolation ${backend} -- /bin/true`,
      () =>
        spawnAndWait(process.execPath, [
          POLYTHENE_BIN,
          'exec',
          id,
          '--store',
          store,
          '--isolation',
          backend,
          '--',
          '/bin/true',
        ]),
      { runs: RUNS, warmup: 2 },
    );
    const api = await measure(
      `API exec({ isolation: '${backend}' })`,
      () => exec({ id, store, isolation: backend, command: ['/bin/true'], stdio: 'pipe' }),
      { runs: RUNS, warmup: 2 },
    );
    const cliBudget: CaseResult = {
      name: 'budget: node -e 0 + bare',
      runs: RUNS,
      medianMs: nodeStartup.medianMs + bare.medianMs,
      minMs: nodeStartup.minMs + bare.minMs,
    };
    sections.push(
      report(
        `exec: ${backend} (CLI vs node start-up + bare)`,
        [cliBudget, nodeStartup, bare, cli],
        cliBudget.name,
      ),
    );
    sections.push(report(`exec: ${backend} (API vs bare spawn from Node)`, [bare, api], bare.name));
  }
  await rm(work, { recursive: true, force: true });
  return sections;
}
