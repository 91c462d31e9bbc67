import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRootCommandArgs, findBwrapDeviceCopies } from '@polythene/backend-bwrap';
import {
  buildChrootArgs,
  chrootArgsOptionsFrom,
  chrootHostDev,
  probeChroot,
  readChrootDetails,
} from '@polythene/backend-chroot';
import {
  buildProotArgs,
  openProotDevDir,
  probeProot,
  prootArgsOptionsFrom,
  readProotDetails,
} from '@polythene/backend-proot';
import { exec } from '@polythene/cli';
import {
  type AvailableProbe,
  createProbeContext,
  findUsernsHelper,
  openSideChannelFile,
  type RunSpec,
} from '@polythene/probe';
import { ensureTestImages } from '@polythene/test-images';
import { execa } from 'execa';
import { type CaseResult, measureInterleaved, report } from './measure.ts';
import { POLYTHENE_BIN } from './polythene-bin.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 30);
// `BENCH_BACKENDS=bwrap,proot` measures only those backends (all three by default).
const BACKENDS = (process.env.BENCH_BACKENDS ?? 'bwrap,proot,chroot').split(',');

/**
 * Spawns a command from Node and waits for it: the "bare backend from Node" baseline.
 * `extraStdio` are its fds 3, 4, …: pipes, or open files passed as they are. `newSession`
 * starts it in a session of its own, as polythene starts every backend (no TIOCSTI into the
 * caller's terminal, a process group to kill). That alone makes proot, whose tracing
 * switches between processes all the time, about 1 ms slower here (half of it from the
 * kernel's autogroup scheduling, which gives each new session a group of its own).
 */
function spawnAndWait(
  file: string,
  args: readonly string[],
  extraStdio: readonly ('pipe' | number)[] = [],
  newSession = false,
  env: Record<string, string> = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: ['ignore', 'ignore', 'ignore', ...extraStdio],
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...env },
      detached: newSession,
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${file} exited ${code}`)),
    );
  });
}

/**
 * Spawns a command from Node with its stdout and stderr captured (pipes read to the end), and
 * waits for it: the baseline for the API's `stdio: 'pipe'`, which captures them too.
 */
function spawnCapturingAndWait(file: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${file} exited ${code}`)),
    );
  });
}

/**
 * The minimal command line of each backend that runs /bin/true in the rootfs. bwrap's has
 * every guarantee polythene gives; as root, that includes root's own device copies over the
 * host's nodes and a read-only /proc/sys (see docs/backends.md).
 */
export function bareCommandLine(backend: string, rootfs: string): [string, string[]] {
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
          ...(process.geteuid?.() === 0 ? buildRootCommandArgs(findBwrapDeviceCopies()) : []),
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

/** Runs the backend's command line once, from Node, with what it needs for one run. */
type RunByHand = () => Promise<void>;

/**
 * The backend's own command line with every guarantee polythene gives (what a user would
 * type to get the same sandbox without polythene), built by the backend's argv builder from
 * this host's probe, started in a session of its own. For bwrap the minimal command line
 * already has them all. proot adds setpriv (dies with its parent, no new privileges), the
 * /proc bind, a /dev directory made for each run and the new session; chroot adds the
 * namespaces, its set-up script (fresh /proc, minimal /dev), capsh and the new session.
 */
async function sameGuaranteesRun(backend: string, rootfs: string): Promise<RunByHand | undefined> {
  if (backend === 'bwrap') return bwrapWithIdsRun(rootfs);
  if (backend !== 'proot' && backend !== 'chroot') return undefined;
  const context = createProbeContext();
  const probe = await (backend === 'proot' ? probeProot : probeChroot)(context);
  if (!probe.available) return undefined;
  const spec: RunSpec = {
    rootfs,
    argv: ['/bin/true'],
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
    cwd: '/',
    uid: 0,
    gid: 0,
    binds: [],
    stdio: 'inherit',
    killGraceMs: 0,
    forwardSignals: false,
    probe: probe as AvailableProbe,
  };
  if (backend === 'proot') {
    const details = readProotDetails(probe.details);
    // A /dev directory for each run is one of the guarantees (what a command writes there is
    // gone for the next), so it is made and removed around each run here too.
    return async () => {
      const devDir = openProotDevDir();
      const options = prootArgsOptionsFrom(details, context.isRoot, devDir);
      const { file, args } = buildProotArgs(spec, options);
      try {
        await spawnAndWait(file, args, [], true);
      } finally {
        devDir.release();
      }
    };
  }
  const { file, args, mountTable } = buildChrootArgs(
    spec,
    chrootArgsOptionsFrom(readChrootDetails(probe.details)),
    {
      // polythene has created both in the rootfs by now (see the exec before measuring).
      proc: join(rootfs, 'proc'),
      dev: join(rootfs, 'dev'),
      binds: [],
      ...chrootHostDev(),
    },
  );
  // The set-up script reports "ready" on fd 3 and reads its mount table on fd 4 (a file
  // mount reads anew each time: one serves every run, and the process's exit closes it).
  const mountTableFile = openSideChannelFile(mountTable);
  return () => spawnAndWait(file, args, ['pipe', mountTableFile.fd], true);
}

/**
 * bwrap with the guarantee root's bare line lacks, `ids`: run as uid 0 of a user namespace
 * of its own whose map covers 0–65535, made before bwrap by the `polythene-userns` helper (as
 * a user would with any small program: util-linux's `unshare --map-users` goes through
 * newuidmap, which refuses root a range it has no subuid entry for). Root only; the pids
 * cgroup is left out here (the CLI and API cases it is compared with run without one too:
 * `pnpm bench limits` measures it).
 */
function bwrapWithIdsRun(rootfs: string): RunByHand | undefined {
  const helper = findUsernsHelper();
  if (process.geteuid?.() !== 0 || helper === undefined) return undefined;
  const map = '0 0 65536';
  const [, bareArgs] = bareCommandLine('bwrap', rootfs);
  // Already in its own user namespace: every other namespace, but no nested user namespace.
  const args = bareArgs.flatMap((arg) =>
    arg === '--unshare-all'
      ? ['--unshare-net', '--unshare-pid', '--unshare-ipc', '--unshare-uts']
      : [arg],
  );
  return () =>
    spawnAndWait(helper, ['--uid-map', map, '--gid-map', map, '--', 'bwrap', ...args], [], true);
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

  for (const backend of BACKENDS) {
    const [file, args] = bareCommandLine(backend, rootfs);
    // Creates the mount targets the same-guarantees chroot command line expects.
    await exec({ id, store, isolation: backend, command: ['/bin/true'], stdio: 'pipe' });
    const same = await sameGuaranteesRun(backend, rootfs);
    const cliArgs = [POLYTHENE_BIN, 'exec', id, '--store', store, '--isolation', backend];
    cliArgs.push('--', '/bin/true');
    const names = {
      node: 'node -e 0',
      bare: `bare ${file} /bin/true (from Node)`,
      bareCaptured: `bare ${file} /bin/true, output captured (from Node)`,
      same: `${file} with polythene's guarantees, by hand (from Node)`,
      floor: `node script that only spawns bare ${file}`,
      cli: `polythene exec --isolation ${backend} -- /bin/true`,
      cliNoCgroup: `polythene exec --isolation ${backend}, POLYTHENE_PIDS_LIMIT=0`,
      apiNoCgroup: `API exec({ isolation: '${backend}', pidsLimit: 0 })`,
      api: `API exec({ isolation: '${backend}' })`,
      apiPipe: `API exec({ isolation: '${backend}', stdio: 'pipe' })`,
    };
    const results = await measureInterleaved(
      [
        { name: names.node, body: () => spawnAndWait(process.execPath, ['-e', '0']) },
        { name: names.bare, body: () => spawnAndWait(file, args) },
        { name: names.bareCaptured, body: () => spawnCapturingAndWait(file, args) },
        ...(same === undefined ? [] : [{ name: names.same, body: same }]),
        {
          name: names.floor,
          body: () =>
            spawnAndWait(process.execPath, [floorScript, JSON.stringify([file, ...args])]),
        },
        { name: names.cli, body: () => spawnAndWait(process.execPath, cliArgs) },
        {
          name: names.api,
          body: () => exec({ id, store, isolation: backend, command: ['/bin/true'] }),
        },
        // Without the default pids limit's cgroup, to compare with the same guarantees by
        // hand, which have none.
        ...(same === undefined
          ? []
          : [
              {
                name: names.cliNoCgroup,
                body: () =>
                  spawnAndWait(process.execPath, cliArgs, [], false, { POLYTHENE_PIDS_LIMIT: '0' }),
              },
              {
                name: names.apiNoCgroup,
                body: () =>
                  exec({ id, store, isolation: backend, command: ['/bin/true'], pidsLimit: 0 }),
              },
            ]),
        {
          name: names.apiPipe,
          body: () =>
            exec({ id, store, isolation: backend, command: ['/bin/true'], stdio: 'pipe' }),
        },
      ],
      RUNS,
    );
    const byName = (name: string): CaseResult | undefined =>
      results.find((entry) => entry.name === name);
    const [node, bare, floor, cli, api, apiPipe] = [
      names.node,
      names.bare,
      names.floor,
      names.cli,
      names.api,
      names.apiPipe,
    ].map((name) => byName(name) as CaseResult) as [
      CaseResult,
      CaseResult,
      CaseResult,
      CaseResult,
      CaseResult,
      CaseResult,
    ];
    const sameResult = byName(names.same);
    const budgetOver = (backendRun: CaseResult, label: string): CaseResult => ({
      name: `budget: node -e 0 + ${label}`,
      runs: RUNS,
      medianMs: node.medianMs + backendRun.medianMs,
      minMs: node.minMs + backendRun.minMs,
    });
    const cliBudget = budgetOver(bare, 'bare');
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
    const bareCaptured = byName(names.bareCaptured) as CaseResult;
    sections.push(
      report(
        `exec: ${backend} (API capturing output vs bare spawn capturing output from Node)`,
        [bareCaptured, apiPipe],
        bareCaptured.name,
      ),
    );
    // The bare command line above gives fewer guarantees than polythene for proot and
    // chroot: against the same guarantees, what is left is polythene's own overhead.
    if (sameResult !== undefined) {
      const sameBudget = budgetOver(sameResult, 'same guarantees by hand');
      // bwrap's by-hand line has no pids cgroup: its CLI and API are compared without one.
      const cliSame = byName(names.cliNoCgroup) ?? cli;
      const apiSame = byName(names.apiNoCgroup);
      sections.push(
        report(
          `exec: ${backend} (CLI vs node start-up + the same guarantees by hand)`,
          [sameBudget, sameResult, ...(cliSame === cli ? [cli] : [cliSame, cli])],
          sameBudget.name,
        ),
        report(
          `exec: ${backend} (API vs the same guarantees by hand)`,
          [sameResult, ...(apiSame === undefined ? [] : [apiSame]), api, apiPipe, bare],
          sameResult.name,
        ),
      );
    }
  }
  await rm(work, { recursive: true, force: true });
  return sections;
}
