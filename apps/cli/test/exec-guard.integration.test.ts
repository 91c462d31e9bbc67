import {
  ensureTestImages,
  ensureTestImagesAs,
  ensureTestUser,
  runAsTestUser,
} from '@polythene/test-images';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freshStorePath,
  POLYTHENE_BIN,
  removeWhenDone,
  runPolythene,
  runPolytheneAs,
  startPolythene,
} from './run-polythene.ts';

// A caller (a shell, a test harness) that holds a host directory open without close-on-exec,
// as bash's `exec 50</etc` does, then runs polythene: the command must not receive fd 50,
// through which it read the host's files (`cat /proc/self/fd/50/hostname` under bwrap and
// chroot). Node itself reuses low fds at start-up, so a high one shows the leak.
const holdingEtc = ['/bin/bash', '-c', 'exec 50</etc; exec "$@"', 'hold-fd'];
// What the command sees of /proc/self/fd: ls's own directory fd aside, only 0, 1 and 2.
const listFds = ['--', '/bin/sh', '-c', 'ls /proc/self/fd; cat /proc/self/fd/50/hostname 2>&1'];

let store: string;
let id: string;

beforeAll(async () => {
  const images = await ensureTestImages();
  store = await freshStorePath();
  const run = await runPolythene(['pull', images.busybox, '--store', store, '--quiet']);
  expect(run.exitCode, run.stderr).toBe(0);
  id = run.stdout.trim();
});

describe('as root', () => {
  for (const backend of ['bwrap', 'proot', 'chroot']) {
    it(`${backend}: the command receives no descriptor its caller inherited`, async () => {
      const run = await execa(
        holdingEtc[0] as string,
        [
          ...holdingEtc.slice(1),
          process.execPath,
          POLYTHENE_BIN,
          'exec',
          id,
          '--store',
          store,
          '--isolation',
          backend,
          ...listFds,
        ],
        { reject: false },
      );
      expect(run.stdout.split('\n').filter((line) => /^\d+$/.test(line))).toEqual([
        '0',
        '1',
        '2',
        '3',
      ]);
      expect(run.stdout).toMatch(/No such file or directory/);
    });
  }

  it('proot reports filesystem confinement lost: a warning on every run, --strict refuses', async () => {
    const backends = await runPolythene(['backends', '--json']);
    const proot = (
      JSON.parse(backends.stdout) as {
        name: string;
        lost?: { guarantee: string; reason: string }[];
      }[]
    ).find((entry) => entry.name === 'proot');
    expect(proot?.lost?.find((entry) => entry.guarantee === 'filesystem')?.reason).toMatch(
      /use bwrap or chroot for untrusted code/,
    );
    const warned = await runPolythene([
      'exec',
      id,
      '--store',
      store,
      '--isolation',
      'proot',
      '--',
      'true',
    ]);
    expect(warned.exitCode).toBe(0);
    expect(warned.stderr).toMatch(/warning: proot runs without .*filesystem/);
    const strict = await runPolythene([
      'exec',
      id,
      '--store',
      store,
      '--isolation',
      'proot',
      '--strict',
      '--',
      'true',
    ]);
    expect(strict.exitCode).toBe(125);
    expect(strict.stderr).toMatch(/filesystem/);
  });

  it('proot: exec returns when the command ends, not when a daemon it left does', async () => {
    const started = Date.now();
    const run = await runPolythene(
      [
        'exec',
        id,
        '--store',
        store,
        '--isolation',
        'proot',
        '--timeout',
        '60',
        '--',
        '/bin/sh',
        '-c',
        'setsid sleep 877123 </dev/null >/dev/null 2>&1 & echo started',
      ],
      { timeoutMs: 90_000 },
    );
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toBe('started\n');
    expect(Date.now() - started).toBeLessThan(20_000);
    const left = await execa('pgrep', ['-f', '^sleep 877123$'], { reject: false });
    expect(left.stdout).toBe('');
  });

  // Ctrl-C reaches polythene as SIGINT: it forwards it to the command and, when the command
  // ends (or the grace period runs out), the whole tree goes, a daemon in a session of its
  // own too. The command either dies of the signal or ignores it.
  // A command that ends on it ends the run at once, not after the 5 s grace period (proot
  // would wait for the daemon, which it still traces).
  it.each([
    ['ends on it', 877124, '', 4_500],
    ['ignores it until the grace period runs out', 877125, 'trap "" INT; ', 30_000],
  ])(
    'proot: Ctrl-C kills a daemon (setsid) the command left, when the command %s',
    async (_, marker, prelude, withinMs) => {
      const daemon = ['-f', `^sleep ${marker}$`];
      const run = startPolythene(
        [
          'exec',
          id,
          '--store',
          store,
          '--isolation',
          'proot',
          '--',
          '/bin/sh',
          '-c',
          `${prelude}setsid sleep ${marker} </dev/null >/dev/null 2>&1 & echo started; sleep 60`,
        ],
        { timeoutMs: 60_000 },
      );
      try {
        await new Promise<void>((resolve) => {
          run.stdout?.on('data', (chunk: Buffer) => {
            if (chunk.toString().includes('started')) resolve();
          });
        });
        await waitForDaemon(daemon, true);
        const interruptedAt = Date.now();
        run.kill('SIGINT');
        const result = await run;
        expect(result.exitCode, String(result.stderr)).not.toBe(0);
        expect(Date.now() - interruptedAt).toBeLessThan(withinMs);
        await waitForDaemon(daemon, false);
      } finally {
        await execa('pkill', ['-KILL', ...daemon], { reject: false });
      }
    },
  );
});

// Waits (up to 5 s) until a process matching `pgrepArgs` runs, or until none does.
async function waitForDaemon(pgrepArgs: readonly string[], isRunning: boolean): Promise<void> {
  for (let waitedMs = 0; ; waitedMs += 50) {
    const found = (await execa('pgrep', [...pgrepArgs], { reject: false })).stdout !== '';
    if (found === isRunning) return;
    if (waitedMs > 5_000) {
      throw new Error(`the daemon ${isRunning ? 'never started' : 'survived polythene'}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('as an unprivileged user', () => {
  let userStore: string;
  let userId: string;

  beforeAll(async () => {
    const user = await ensureTestUser();
    const images = await ensureTestImagesAs(user);
    userStore = removeWhenDone(`/tmp/polythene-exec-guard-${process.pid}-${Date.now()}`);
    const run = await runPolytheneAs(['pull', images.busybox, '--store', userStore, '--quiet']);
    expect(run.exitCode, run.stderr).toBe(0);
    userId = run.stdout.trim();
  });

  afterAll(async () => {
    if (userId) await runPolytheneAs(['rm', userId, '--store', userStore]);
  });

  for (const backend of ['bwrap', 'proot']) {
    it(`${backend}: the command receives no descriptor its caller inherited`, async () => {
      const run = await runAsTestUser(
        [
          ...holdingEtc,
          process.execPath,
          POLYTHENE_BIN,
          'exec',
          userId,
          '--store',
          userStore,
          '--isolation',
          backend,
          ...listFds,
        ],
        { reject: false },
      );
      expect(run.stdout.split('\n').filter((line) => /^\d+$/.test(line))).toEqual([
        '0',
        '1',
        '2',
        '3',
      ]);
      expect(run.stdout).toMatch(/No such file or directory/);
    });
  }

  it("proot: the command reads neither polythene's environment nor its memory", async () => {
    // Walks up from the command through every process between it and polythene (and on, to
    // the top): for each, whether its environment holds the caller's secret, and whether its
    // /proc/<pid>/mem opens. Only proot itself (exec'd: dumpable, holding only the command's
    // environment) may stay open; polythene, the exec guard, and whatever runs above do not.
    const walk = [
      'p=$PPID',
      'while [ "$p" -gt 1 ]; do',
      '  read comm < /proc/$p/comm',
      '  echo "ancestor $p $comm"',
      '  if grep -q "$(echo terces-ILC-enehtylop | rev)" /proc/$p/environ 2>/dev/null; then echo "secret $p $comm"; fi',
      '  if (exec 3</proc/$p/mem) 2>/dev/null; then echo "mem $p $comm"; fi',
      '  p=$(sed -n "s/^PPid:[[:space:]]*//p" /proc/$p/status)',
      'done',
    ].join('\n');
    const run = await runPolytheneAs(
      ['exec', userId, '--store', userStore, '--isolation', 'proot', '--', '/bin/sh', '-c', walk],
      { env: { POLYTHENE_TEST_SECRET: 'polythene-CLI-secret' } },
    );
    expect(run.exitCode, run.stderr).toBe(0);
    // The walk got past polythene (node): it found every process on the way.
    expect(run.stdout).toMatch(/^ancestor \d+ node$/m);
    expect(run.stdout).not.toMatch(/^secret /m);
    const openMemory = run.stdout.split('\n').filter((line) => line.startsWith('mem '));
    expect(
      openMemory.filter((line) => !/ proot$/.test(line)),
      run.stdout,
    ).toEqual([]);
  });
});
