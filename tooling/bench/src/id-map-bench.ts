import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  findUsernsHelper,
  type IdMap,
  planIdMap,
  readSubordinateIds,
  wrapInUserNamespace,
} from '@polythene/probe';
import { ensureTestImages, ensureTestUser } from '@polythene/test-images';
import { execa } from 'execa';
import { type CaseResult, measureInterleaved, report } from './measure.ts';
import { POLYTHENE_BIN } from './polythene-bin.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

function run(file: string, args: readonly string[], env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: 'ignore', env });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${file} ${args.join(' ')} exited ${code}`)),
    );
  });
}

// bwrap running /bin/true with the box's namespaces; `inUserNamespace`: already root of a
// namespace made for it (no --unshare-user), as a box whose command is uid 0 runs.
function bwrapArgs(rootfs: string, inUserNamespace: boolean): string[] {
  return [
    'bwrap',
    ...(inUserNamespace ? [] : ['--unshare-user']),
    '--unshare-net',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
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
  ];
}

/**
 * The cost of root in the box (issue 15): the user namespace with the full id map made
 * before bwrap, by hand (`polythene-userns` + bwrap against bwrap alone) and through the CLI
 * (`polythene exec -- /bin/true`, in-box root with the map, against `--user 65534`, which
 * runs in bwrap's own one-id namespace). As root (the identity map, written directly) and,
 * when this runs as root, as the unprivileged test user (newuidmap/newgidmap), both sides
 * started by `setpriv`. The goal: the map adds at most 2 ms as root, 4 ms unprivileged.
 */
export async function benchIdMap(): Promise<string[]> {
  const helper = findUsernsHelper();
  if (process.getuid?.() !== 0 || helper === undefined) {
    process.stdout.write('id map bench skipped: needs root and the polythene-userns helper\n');
    return [];
  }
  const images = await ensureTestImages();
  const work = await mkdtemp(join(tmpdir(), 'polythene-bench-idmap-'));
  const sections: string[] = [];
  try {
    const store = join(work, 'store');
    const pulled = await execa(process.execPath, [
      POLYTHENE_BIN,
      'pull',
      images.busybox,
      '--store',
      store,
      '--quiet',
    ]);
    const id = pulled.stdout.trim();
    const rootfs = join(store, id);
    const rootMap: IdMap = { uidMap: '0 0 65536', gidMap: '0 0 65536' };
    sections.push(
      await measureWorld('root', {
        prefix: [],
        env: { PATH },
        map: rootMap,
        helper,
        rootfs,
        cli: [process.execPath, POLYTHENE_BIN, 'exec', id, '--store', store],
      }),
    );

    // The same store, handed to the test user (its files become in-box root's).
    const user = await ensureTestUser();
    const plan = planIdMap({
      isRoot: false,
      uid: user.uid,
      gid: user.gid,
      userName: user.name,
      subuid: readSubordinateIds('/etc/subuid', user.name, user.uid, 65535),
      subgid: readSubordinateIds('/etc/subgid', user.name, user.uid, 65535),
      newuidmapPath: '/usr/bin/newuidmap',
      newgidmapPath: '/usr/bin/newgidmap',
    });
    if (!plan.available) {
      process.stdout.write(`unprivileged id map bench skipped: ${plan.reason}\n`);
      return sections;
    }
    await execa('chown', ['-R', `${user.uid}:${user.gid}`, work]);
    sections.push(
      await measureWorld('unprivileged', {
        prefix: ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups'],
        env: { PATH, HOME: user.home },
        map: plan.map,
        helper,
        rootfs,
        cli: [process.execPath, POLYTHENE_BIN, 'exec', id, '--store', store],
      }),
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return sections;
}

async function measureWorld(
  world: 'root' | 'unprivileged',
  setup: {
    prefix: readonly string[];
    env: Record<string, string>;
    map: IdMap;
    helper: string;
    rootfs: string;
    cli: readonly string[];
  },
): Promise<string> {
  const start = (argv: readonly string[]) => (): Promise<void> => {
    const [file = '', ...args] = [...setup.prefix, ...argv];
    return run(file, args, setup.env);
  };
  const names = {
    bare: `${world}: bwrap alone (its own one-id namespace)`,
    mapped: `${world}: polythene-userns (full map) + bwrap`,
    plain: `${world}: polythene exec --user 65534 -- /bin/true (no id map)`,
    root: `${world}: polythene exec -- /bin/true (in-box root, full id map)`,
  };
  const results = await measureInterleaved(
    [
      { name: names.bare, body: start(bwrapArgs(setup.rootfs, false)) },
      {
        name: names.mapped,
        body: start(wrapInUserNamespace(setup.helper, setup.map, bwrapArgs(setup.rootfs, true))),
      },
      { name: names.plain, body: start([...setup.cli, '--user', '65534', '--', '/bin/true']) },
      { name: names.root, body: start([...setup.cli, '--', '/bin/true']) },
    ],
    RUNS,
  );
  const byName = (name: string): CaseResult =>
    results.find((entry) => entry.name === name) as CaseResult;
  // Medians, and minimums: on a loaded machine the minimum shows the cost better.
  const cost = (base: string, mapped: string): string =>
    `${signed(byName(mapped).medianMs - byName(base).medianMs)} ms (min ${signed(byName(mapped).minMs - byName(base).minMs)} ms)`;
  const text = [
    report(
      `exec: id map cost, ${world} (by hand)`,
      [byName(names.bare), byName(names.mapped)],
      names.bare,
    ),
    report(
      `exec: id map cost, ${world} (CLI)`,
      [byName(names.plain), byName(names.root)],
      names.plain,
    ),
    `id map, ${world}: ${cost(names.bare, names.mapped)} by hand, ${cost(names.plain, names.root)} through the CLI (goal: ≤ ${world === 'root' ? 2 : 4} ms)\n`,
  ].join('\n');
  process.stdout.write(`${text.split('\n').at(-2)}\n`);
  return text;
}

function signed(ms: number): string {
  return `${ms >= 0 ? '+' : ''}${ms.toFixed(1)}`;
}
