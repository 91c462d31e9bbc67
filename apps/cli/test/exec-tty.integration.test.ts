import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureTestImages, ensureTestImagesAs, ensureTestUser } from '@polythene/test-images';
import { execaSync } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { exec } from '../src/index.ts';
import {
  freshStorePath,
  POLYTHENE_BIN,
  removeWhenDone,
  runPolythene,
  runPolytheneAs,
} from './run-polythene.ts';

// `exec --tty` where polythene's stdin is no terminal (a pipe, as in CI): the command still
// gets a terminal of its own, its output is relayed, and no size is set. The real-terminal
// behaviour is in terminal.integration.test.ts.

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const exampleBackend = join(
  repoRoot,
  'packages/backend-conformance/test/fixtures/third-party-backend.mjs',
);

let store: string;
let id: string;

beforeAll(async () => {
  const images = await ensureTestImages();
  store = await freshStorePath();
  const run = await runPolythene(['pull', images.busybox, '--store', store, '--quiet']);
  expect(run.exitCode, run.stderr).toBe(0);
  id = run.stdout.trim();
});

describe.each(['bwrap', 'proot', 'chroot'])(
  'polythene exec --tty --isolation %s, no terminal',
  (backend) => {
    const exec = (flags: string[], command: string[], input?: string) =>
      runPolythene(
        ['exec', id, '--store', store, '--isolation', backend, ...flags, '--', ...command],
        {
          env: { TERM: 'vt100' },
          ...(input === undefined ? {} : { input }),
        },
      );

    it('runs the command on a pty of its own with no size, TERM from the host, and its exit code', async () => {
      const run = await exec(
        ['--tty'],
        ['sh', '-c', 'tty; stty -a 2>/dev/null | head -n 1; echo "TERM=$TERM"; exit 3'],
      );
      expect(run.exitCode, run.stderr).toBe(3);
      // A terminal's output (lines end in CR LF); busybox's stty shows no rows and columns
      // while they are 0.
      expect(run.stdout).toMatch(
        /^\/dev\/pts\/\d+\r\nspeed \d+ baud; line = 0;\r\nTERM=vt100\r\n$/,
      );
    });

    it("gives TERM=xterm when the host has none, and --env TERM=… wins over the host's", async () => {
      const script = ['sh', '-c', 'echo "TERM=$TERM"'];
      const none = await runPolythene(
        ['exec', id, '--store', store, '--isolation', backend, '--tty', '--', ...script],
        { env: { TERM: undefined } },
      );
      expect(none.exitCode, none.stderr).toBe(0);
      expect(none.stdout).toBe('TERM=xterm\r\n');
      const set = await exec(['--tty', '--env', 'TERM=screen'], script);
      expect(set.exitCode, set.stderr).toBe(0);
      expect(set.stdout).toBe('TERM=screen\r\n');
    });

    it('forwards stdin with --interactive, and ends it at its end', async () => {
      const run = await exec(['--tty', '--interactive'], ['sh'], 'echo "in-$((40 + 2))"\nexit 4\n');
      expect(run.exitCode, run.stderr).toBe(4);
      expect(run.stdout).toMatch(/^in-42\r$/m);
    });

    it('kills the box at --timeout (124), through the relay', async () => {
      const run = await exec(['--tty', '--timeout', '1'], ['sh', '-c', 'sleep 10; echo after']);
      expect(run.exitCode, run.stderr).toBe(124);
      expect(run.stdout).not.toContain('after');
    });

    it('gives the command no input without --interactive', async () => {
      const run = await exec(['--tty'], ['sh', '-c', 'read -t 1 line; echo "read $?"'], 'typed\n');
      expect(run.exitCode, run.stderr).toBe(0);
      expect(run.stdout).not.toContain('typed');
      expect(run.stdout).toMatch(/^read [1-9]\d*\r$/m);
    });
  },
);

// Every file of the helpers' directory the CLI runs its helpers from, with a hash of each.
function snapshotHelpers(): string[] {
  const dir = join(dirname(POLYTHENE_BIN), '..', 'bin');
  return readdirSync(dir).map(
    (name) =>
      `${name} ${createHash('sha256')
        .update(readFileSync(join(dir, name)))
        .digest('hex')}`,
  );
}

describe('exec --tty --isolation proot and the host helpers', () => {
  it("lets nothing the box writes under /dev/.polythene reach the host's helpers", async () => {
    const before = snapshotHelpers();
    // proot's root owns the run's /dev: it may chmod there, then write.
    const script = [
      'chmod -R u+w /dev/.polythene',
      'for f in /dev/.polythene/*; do echo tampered >> "$f"; done',
      'for n in polythene-userns-x64 polythene-box-x64 polythene-exec-guard-x64 planted; do echo tampered > "/dev/.polythene/$n"; done',
      'ls /dev/.polythene',
    ].join('; ');
    const run = await runPolythene([
      'exec',
      id,
      '--store',
      store,
      '--isolation',
      'proot',
      '--tty',
      '--',
      'sh',
      '-c',
      script,
    ]);
    expect(run.exitCode, run.stderr).toBe(0);
    // The writes happened, in the box.
    expect(run.stdout).toContain('planted');
    expect(snapshotHelpers()).toEqual(before);
  });
});

describe('exec --tty --isolation proot as root without setpriv', () => {
  it("refuses (125, one line): the command would keep root's capabilities, TIOCSTI included", async () => {
    // A PATH with proot and no setpriv (util-linux).
    const bin = await mkdtemp(join(tmpdir(), 'polythene-no-setpriv-'));
    try {
      await symlink(
        await realpath(execaSync('sh', ['-c', 'command -v proot']).stdout),
        join(bin, 'proot'),
      );
      const run = await runPolythene(
        [
          'exec',
          id,
          '--store',
          store,
          '--isolation',
          'proot',
          '--tty',
          '--',
          'sh',
          '-c',
          'echo ran',
        ],
        { env: { PATH: bin } },
      );
      expect(run.exitCode, run.stderr).toBe(125);
      expect(run.stdout).toBe('');
      const errors = run.stderr
        .split('\n')
        .filter((line) => line !== '' && !line.startsWith('polythene: warning:'));
      expect(errors).toEqual([
        expect.stringMatching(
          /^polythene: proot cannot run a command on a terminal as root without setpriv/,
        ),
      ]);
    } finally {
      await rm(bin, { recursive: true, force: true });
    }
  });
});

describe.each(['bwrap', 'proot'])(
  'polythene exec --tty --isolation %s as an unprivileged user, no terminal',
  (backend) => {
    let userStore: string;
    let userId: string;
    beforeAll(async () => {
      const user = await ensureTestUser();
      const images = await ensureTestImagesAs(user);
      userStore = removeWhenDone(`/tmp/polythene-tty-nonterm-${process.pid}-${Date.now()}`);
      const pull = await runPolytheneAs(['pull', images.busybox, '--store', userStore, '-q']);
      expect(pull.exitCode, pull.stderr).toBe(0);
      userId = pull.stdout.trim();
    });

    it('runs the command on a pty of its own with no size, relays output and input, exits as it did', async () => {
      const run = await runPolytheneAs(
        [
          'exec',
          userId,
          '--store',
          userStore,
          '--isolation',
          backend,
          '--tty',
          '--interactive',
          '--',
          'sh',
          '-c',
          'tty; stty size 2>/dev/null; read line; echo "got $line"; exit 3',
        ],
        { input: 'typed\n' },
      );
      expect(run.exitCode, run.stderr).toBe(3);
      // (The terminal echoes the input, which may come first.)
      expect(run.stdout).toMatch(/^\/dev\/pts\/\d+\r$/m);
      // No size was set: busybox's stty prints none, or 0 0.
      expect(run.stdout).not.toMatch(/^[1-9]\d* [1-9]\d*\r$/m);
      expect(run.stdout).toMatch(/^got typed\r?$/m);
    });
  },
);

describe('polythene shell, no terminal', () => {
  it("runs the image's shell (busybox has sh, no bash) on a terminal of its own, with input", async () => {
    const run = await runPolythene(['shell', id, '--store', store], {
      input: 'tty\nexit 6\n',
    });
    expect(run.exitCode, run.stderr).toBe(6);
    expect(run.stdout).toMatch(/^\/dev\/pts\/\d+\r$/m);
  });

  it('prefers bash when the image has one', async () => {
    const bash = join(store, id, 'usr', 'local', 'bin', 'bash');
    await mkdir(dirname(bash), { recursive: true });
    await writeFile(bash, '#!/bin/sh\necho "bash stand-in"\nexec /bin/sh "$@"\n', { mode: 0o755 });
    try {
      const run = await runPolythene(['shell', id, '--store', store], { input: 'exit 0\n' });
      expect(run.exitCode, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/^bash stand-in\r$/m);
    } finally {
      await rm(bash);
    }
  });

  it('runs CMD after -- on a terminal of its own instead', async () => {
    const run = await runPolythene([
      'shell',
      id,
      '--store',
      store,
      '--',
      'sh',
      '-c',
      'tty; exit 5',
    ]);
    expect(run.exitCode, run.stderr).toBe(5);
    expect(run.stdout).toMatch(/^\/dev\/pts\/\d+\r\n$/);
  });
});

describe('the API with tty', () => {
  it('captures what the terminal shows in pipe mode, input included, and the exit code', async () => {
    const result = await exec({
      id,
      store,
      command: ['sh'],
      tty: true,
      interactive: true,
      stdio: 'pipe',
      input: 'tty\nexit 3\n',
    });
    expect(result.exitCode).toBe(3);
    expect(new TextDecoder().decode(result.stdout)).toMatch(/^\/dev\/pts\/\d+\r$/m);
  });
});

describe('exec --tty refusals', () => {
  it('refuses --tty with --json as a usage error (2)', async () => {
    const run = await runPolythene(['exec', id, '--store', store, '--tty', '--json', '--', 'true']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/^polythene: --json captures output.*\n$/);
  });

  it('exits 125 with one line when the backend cannot run a command on a terminal', async () => {
    const run = await runPolythene([
      'exec',
      id,
      '--store',
      store,
      '--backend-module',
      exampleBackend,
      '--isolation',
      'example-bwrap',
      '--tty',
      '--',
      'true',
    ]);
    expect(run.exitCode).toBe(125);
    // The example backend loses `ids`: its lost-guarantees warning may come first; the refusal
    // is the last line, and the only error.
    expect(run.stderr).toMatch(
      /(^|\n)polythene: example-bwrap cannot run a command on a terminal of its own \(--tty\)[^\n]*\n$/,
    );
    expect(
      run.stderr
        .split('\n')
        .filter((line) => line !== '' && !line.startsWith('polythene: warning:')),
    ).toHaveLength(1);
  });
});
