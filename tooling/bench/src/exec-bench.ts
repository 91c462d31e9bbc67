import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTestImages } from '@polythene/test-images';
import { execa } from 'execa';
import { exec } from 'polythene';
import { type CaseResult, measureInterleaved, report } from './measure.ts';
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

// The least a Node program does to run the backend through the public API: start, load
// child_process, spawn, wait. It shows how much of the budget Node's own start-up and
// child_process take (the CLI's usual path skips child_process; see docs/design.md).
const FLOOR_SCRIPT = `
const { spawn } = require('node:child_process');
const [file, ...args] = JSON.parse(process.argv[2]);
const child = spawn(file, args, { stdio: 'inherit', detached: true, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
child.on('exit', (code) => { process.exitCode = code ?? 1; });
`;

/**
 * \`polythene exec UUID -- /bin/true\` per backend against the bare backend command line and
 * \`node -e 0\`, and the programmatic API against spawning the bare backend from Node. The
 * cases run interleaved, so drifts of the machine hit them alike.
 */
export async function benchExec(): Promise<string[]> {
  const images = await ensureTestImages();
  const work = await mkdtemp(join(tmpdir(), 'polythene-bench-exec-'));
  const store = join(work, 'store');
  const floorScript = join(work, 'floor.cjs');
  await writeFile(floorScript, FLOOR_SCRIPT);
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

  for (const backend of ['bwrap', 'proot', 'chroot']) {
    const [file, args] = bareCommandLine(backend, rootfs);
    const names = {
      node: 'node -e 0',
      bare: `bare ${file} /bin/true (from Node)`,
      floor: `node script that only spawns bare ${file}`,
      cli: `polythene exec --isolation ${backend} -- /bin/true`,
      api: `API exec({ isolation: '${backend}' })`,
      apiPipe: `API exec({ isolation: '${backend}', stdio: 'pipe' })`,
    };
    const results = await measureInterleaved(
      [
        { name: names.node, body: () => spawnAndWait(process.execPath, ['-e', '0']) },
        { name: names.bare, body: () => spawnAndWait(file, args) },
        {
          name: names.floor,
          body: () =>
            spawnAndWait(process.execPath, [floorScript, JSON.stringify([file, ...args])]),
        },
        {
          name: names.cli,
          body: () =>
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
        },
        {
          name: names.api,
          body: () => exec({ id, store, isolation: backend, command: ['/bin/true'] }),
        },
        {
          name: names.apiPipe,
          body: () =>
            exec({ id, store, isolation: backend, command: ['/bin/true'], stdio: 'pipe' }),
        },
      ],
      RUNS,
    );
    const byName = (name: string): CaseResult =>
      results.find((entry) => entry.name === name) as CaseResult;
    const [node, bare, floor, cli, api, apiPipe] = [
      byName(names.node),
      byName(names.bare),
      byName(names.floor),
      byName(names.cli),
      byName(names.api),
      byName(names.apiPipe),
    ];
    const cliBudget: CaseResult = {
      name: 'budget: node -e 0 + bare',
      runs: RUNS,
      medianMs: node.medianMs + bare.medianMs,
      minMs: node.minMs + bare.minMs,
    };
    sections.push(
      report(
        `exec: ${backend} (CLI vs node start-up + bare)`,
        [cliBudget, node, bare, floor, cli],
        cliBudget.name,
      ),
    );
    sections.push(
      report(`exec: ${backend} (API vs bare spawn from Node)`, [bare, api, apiPipe], bare.name),
    );
  }
  await rm(work, { recursive: true, force: true });
  return sections;
}
