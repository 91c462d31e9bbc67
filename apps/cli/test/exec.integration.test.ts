import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { ensureTestImages, type TestImages } from '@polythene/test-images';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  freshStorePath,
  POLYTHENE_BIN,
  removeWhenDone,
  runPolythene,
  startPolythene,
} from './run-polythene.ts';

let images: TestImages;
let store: string;
let busyboxId: string;
let configuredId: string;
let noShellId: string;

async function pull(image: string): Promise<string> {
  const run = await runPolythene(['pull', image, '--store', store, '--quiet']);
  expect(run.exitCode, run.stderr).toBe(0);
  return run.stdout.trim();
}

beforeAll(async () => {
  images = await ensureTestImages();
  store = await freshStorePath();
  [busyboxId, configuredId, noShellId] = [
    await pull(images.busybox),
    await pull(images.configured),
    await pull(images.noShell),
  ];
});

/** `polythene exec` arguments running `command` in entry `id` of the test store. */
function execArgs(id: string, command: readonly string[], flags: readonly string[] = []) {
  return ['exec', id, '--store', store, ...flags, '--', ...command];
}

function execIn(
  id: string,
  command: readonly string[],
  flags: readonly string[] = [],
  env?: Record<string, string>,
) {
  return runPolythene(execArgs(id, command, flags), { env });
}

describe.each(['bwrap', 'proot', 'chroot'])(
  'polythene exec --isolation %s (as root)',
  (backend) => {
    const flags = ['--isolation', backend];

    it('runs uname -a and passes stdout through', async () => {
      const run = await execIn(busyboxId, ['uname', '-a'], flags, { POLYTHENE_VERBOSE: '1' });
      expect(run.exitCode, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/^Linux /);
      expect(run.stderr).toContain(backend);
    });

    it("exits with the command's own status, and 128+n when it dies of signal n", async () => {
      expect((await execIn(busyboxId, ['sh', '-c', 'exit 42'], flags)).exitCode).toBe(42);
      expect((await execIn(busyboxId, ['sh', '-c', 'kill -TERM $$'], flags)).exitCode).toBe(143);
    });

    it('kills the whole tree at --timeout and exits 124', async () => {
      const marker = `polythene-timeout-${backend}-${process.pid}`;
      const run = await execIn(
        busyboxId,
        ['sh', '-c', `sleep 1000 & sleep 999; echo ${marker}`],
        [...flags, '--timeout', '1'],
      );
      expect(run.exitCode).toBe(124);
      const { execa } = await import('execa');
      const { stdout } = await execa('ps', ['-eo', 'args']);
      expect(stdout).not.toMatch(/sleep 1000/);
    });

    it('kills what the command leaves running when it ends', async () => {
      // A sleep length no other test uses, so `ps` finds only this run's leftover.
      const seconds = 7000 + ['bwrap', 'proot', 'chroot'].indexOf(backend);
      const run = await execIn(busyboxId, ['sh', '-c', `sleep ${seconds} & echo started`], flags);
      expect(run.exitCode, run.stderr).toBe(0);
      expect(run.stdout.trim()).toBe('started');
      const { execa } = await import('execa');
      const { stdout } = await execa('ps', ['-eo', 'args']);
      expect(stdout).not.toContain(`sleep ${seconds}`);
    });

    it('hands all its output to a reader that takes it late, --json included', async () => {
      // More than a pipe holds, read only after a second: what polythene itself writes (the
      // JSON document; proot's stderr, which passes through polythene) is still queued when
      // the command has ended, and must all arrive before polythene exits.
      const { execa } = await import('execa');
      const late = (args: readonly string[], stream: 'stdout' | 'stderr') =>
        execa(
          'sh',
          [
            '-c',
            `"$0" "$@" ${stream === 'stdout' ? '2>/dev/null' : '2>&1 >/dev/null'} | (sleep 1; cat)`,
            process.execPath,
            POLYTHENE_BIN,
            ...args,
          ],
          { maxBuffer: 64 << 20 },
        );
      const json = await late(
        execArgs(
          busyboxId,
          ['sh', '-c', 'head -c 3000000 /dev/zero | tr "\\0" x'],
          [...flags, '--json'],
        ),
        'stdout',
      );
      expect(JSON.parse(json.stdout).stdout).toHaveLength(3_000_000);
      const stderr = await late(
        execArgs(busyboxId, ['sh', '-c', 'head -c 3000000 /dev/zero | tr "\\0" y >&2'], flags),
        'stderr',
      );
      expect(stderr.stdout.match(/y{100,}/)?.[0]).toHaveLength(3_000_000);
    });

    it('never lets a write under /dev reach the image', async () => {
      const imageDev = join(store, busyboxId, 'dev');
      const before = await readdir(imageDev);
      // Through /dev/stderr (which proot could not bind when stderr is a socket) and a new name.
      const run = await execIn(
        busyboxId,
        ['sh', '-c', 'echo x > /dev/stderr; echo x > /dev/new-file; exit 0'],
        flags,
      );
      expect(run.exitCode, run.stderr).toBe(0);
      expect(await readdir(imageDev)).toEqual(before);
      // Nor the next run: each has its own /dev.
      const next = await execIn(busyboxId, ['ls', '/dev'], flags);
      expect(next.stdout.split('\n')).not.toContain('new-file');
    });

    it("leaves the host's devices alone when a root command removes or changes its own", async () => {
      // polythene runs in a private mount namespace whose /dev holds copies of the devices,
      // so that if this failed, only the copies would be harmed, never this machine's.
      const hostDev = removeWhenDone(await mkdtemp(join(tmpdir(), 'polythene-host-dev-')));
      const command = 'rm -f /dev/null; chmod 600 /dev/zero; echo x > /dev/null; exit 0';
      const script = [
        'set -e',
        `cp -a /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty "${hostDev}"`,
        `mkdir "${hostDev}/shm" && mount --bind "${hostDev}" /dev`,
        `"$0" "$@" >&2 || echo "polythene exited $?" >&2`,
        "stat -c '%n %F %a %t,%T' /dev/null /dev/zero",
      ].join('\n');
      const { execa } = await import('execa');
      const run = await execa(
        'unshare',
        [
          '--mount',
          '--propagation=private',
          'sh',
          '-c',
          script,
          process.execPath,
          POLYTHENE_BIN,
          ...execArgs(busyboxId, ['sh', '-c', command], flags),
        ],
        { reject: false },
      );
      expect(run.stderr).not.toContain('polythene exited');
      expect(run.stdout.split('\n')).toEqual([
        '/dev/null character special file 666 1,3',
        '/dev/zero character special file 666 1,5',
      ]);
    });

    it('exits 127 when the command is not in the rootfs', async () => {
      const run = await execIn(busyboxId, ['no-such-command'], flags);
      expect(run.exitCode).toBe(127);
      expect(run.stderr).toMatch(/^polythene: no-such-command: command not found/);
    });

    it('runs an image without /bin/sh (argv, no shell)', async () => {
      const run = await execIn(noShellId, ['/hello'], flags);
      expect(run.exitCode, run.stderr).toBe(0);
    });

    it("uses the image's Env, WorkingDir and User, and nothing from the host", async () => {
      const run = await execIn(
        configuredId,
        [
          'sh',
          '-c',
          // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
          'echo "$GREETING|$(pwd)|$(id -u):$(id -g)|$HOME|${GITHUB_TOKEN-unset}|${LD_PRELOAD-unset}"',
        ],
        flags,
        {
          GITHUB_TOKEN: 'ghp_secret',
          AWS_SECRET_ACCESS_KEY: 'aws-secret',
          LD_PRELOAD: '/nonexistent.so',
        },
      );
      expect(run.exitCode, run.stderr).toBe(0);
      expect(run.stdout.trim()).toBe('hello|/srv/app|1000:1000|/home/app|unset|unset');
    });

    it('applies --env, --workdir and --user', async () => {
      const run = await execIn(
        configuredId,
        ['sh', '-c', 'echo "$GREETING|$FROM_HOST|$(pwd)|$(id -u)"'],
        [
          ...flags,
          '--env',
          'GREETING=hi',
          '--env',
          'FROM_HOST',
          '--workdir',
          '/tmp',
          '--user',
          'root',
        ],
        { FROM_HOST: 'copied' },
      );
      expect(run.exitCode, run.stderr).toBe(0);
      expect(run.stdout.trim()).toBe('hi|copied|/tmp|0');
    });

    it('binds the project at /workspace; writes into the rootfs persist to the next exec', async () => {
      const project = removeWhenDone(await mkdtemp(join(tmpdir(), 'polythene-project-')));
      await writeFile(
        join(project, 'install.sh'),
        `mkdir -p /opt/tool && echo installed-${backend} > /opt/tool/VERSION\n`,
      );
      const install = await runPolythene(
        ['exec', busyboxId, '--store', store, ...flags, '--workspace', '--', 'sh', 'install.sh'],
        {
          cwd: project,
        },
      );
      expect(install.exitCode, install.stderr).toBe(0);
      const check = await execIn(busyboxId, ['cat', '/opt/tool/VERSION'], flags);
      expect(check.stdout.trim()).toBe(`installed-${backend}`);
    });

    it('binds paths with blanks, # and a backslash, read-write and read-only', async () => {
      const parent = removeWhenDone(await mkdtemp(join(tmpdir(), 'polythene-odd-bind-')));
      const source = join(parent, 'a dir\t#1\\x');
      await mkdir(source);
      await writeFile(join(source, 'in'), 'from the host\n');
      const run = await execIn(
        busyboxId,
        ['sh', '-c', 'cat "/odd dir #/in" && echo out > "/odd dir #/out"'],
        [...flags, '--bind', `${source}:/odd dir #`],
      );
      expect(run.exitCode, run.stderr).toBe(0);
      expect(run.stdout).toBe('from the host\n');
      expect(await readFile(join(source, 'out'), 'utf8')).toBe('out\n');
      // proot cannot make a bind read-only (another backend would take the run over).
      if (backend === 'proot') return;
      const readOnly = await execIn(
        busyboxId,
        ['sh', '-c', 'cat "/ro dir/in" && echo x > "/ro dir/in"'],
        [...flags, '--bind', `${source}:/ro dir:ro`],
      );
      expect(readOnly.stdout).toBe('from the host\n');
      expect(readOnly.stderr).toContain('Read-only file system');
    });

    it('captures output with --json', async () => {
      const run = await execIn(
        busyboxId,
        ['sh', '-c', 'echo out; echo err >&2; exit 3'],
        [...flags, '--json'],
      );
      expect(run.exitCode).toBe(3);
      const result = JSON.parse(run.stdout);
      expect(result).toMatchObject({
        exitCode: 3,
        signal: null,
        timedOut: false,
        backend,
        stdout: 'out\n',
        stderr: 'err\n',
      });
      expect(Array.isArray(result.guarantees)).toBe(true);
    });

    it('truncates captured output at --max-output', async () => {
      const run = await execIn(
        busyboxId,
        ['sh', '-c', 'yes | head -c 100000'],
        [...flags, '--json', '--max-output', '1K'],
      );
      const result = JSON.parse(run.stdout);
      expect(result.stdout.length).toBe(1024);
      expect(result.stdoutTruncated).toBe(true);
    });

    it('forwards SIGTERM to the command, which may clean up', async () => {
      const child = startPolythene(
        execArgs(
          busyboxId,
          [
            'sh',
            '-c',
            `trap "echo cleaned > /trap-${backend}; exit 7" TERM; echo ready; while :; do sleep 0.1; done`,
          ],
          flags,
        ),
      );
      await new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));
      child.kill('SIGTERM');
      const result = await child;
      expect(result.exitCode).toBe(7);
      expect(await readFile(join(store, busyboxId, `trap-${backend}`), 'utf8')).toBe('cleaned\n');
    });
  },
);

describe.each(['bwrap', 'chroot'])('polythene exec --isolation %s (as root), /proc', (backend) => {
  it("keeps a root command from changing the host kernel's settings through /proc", async () => {
    // Writes back the values it read: were the writes let through, nothing would change.
    const run = await execIn(
      busyboxId,
      [
        'sh',
        '-c',
        'for file in /proc/sys/vm/swappiness /proc/irq/default_smp_affinity; do v=$(cat $file) && echo "$v" > $file; done',
      ],
      ['--isolation', backend],
    );
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('/proc/sys/vm/swappiness: Read-only file system');
    expect(run.stderr).toContain('/proc/irq/default_smp_affinity: Read-only file system');
  });
});

describe('backend choice', () => {
  it('passes the preferred proot over for a read-only bind with one warning, instead of failing its set-up', async () => {
    const run = await execIn(
      busyboxId,
      ['true'],
      ['--isolation', 'proot', '--bind', '/tmp:/mnt/host:ro'],
      {
        POLYTHENE_VERBOSE: '1',
      },
    );
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stderr).toContain('backend proot: skipped (cannot make a bind read-only)');
    expect(run.stderr).toMatch(/running \/bin\/true as 0:0 in \/ with bwrap/);
    // --isolation is a preference: passing it over says why, once.
    expect(run.stderr.split('\n').filter((line) => line.includes('warning'))).toEqual([
      'polythene: warning: proot cannot make a bind read-only: running with bwrap instead',
    ]);
    expect(run.stderr).not.toContain('set-up failure');
  });

  it('refuses an unknown --isolation with the valid names', async () => {
    const run = await execIn(busyboxId, ['true'], ['--isolation', 'docker']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/bwrap.*proot.*chroot/);
  });

  it('accepts bubblewrap as a name for bwrap, and the flag wins over POLYTHENE_ISOLATION', async () => {
    const run = await execIn(busyboxId, ['true'], ['--isolation', 'bubblewrap', '--json'], {
      POLYTHENE_ISOLATION: 'proot',
    });
    expect(JSON.parse(run.stdout).backend).toBe('bwrap');
    const fromEnv = await execIn(busyboxId, ['true'], ['--json'], { POLYTHENE_ISOLATION: 'proot' });
    expect(JSON.parse(fromEnv.stdout).backend).toBe('proot');
  });

  it('warns once when running with fewer guarantees, and --strict refuses with 125', async () => {
    const weak = await execIn(busyboxId, ['true'], ['--isolation', 'proot']);
    expect(weak.exitCode).toBe(0);
    expect(weak.stderr.trim().split('\n')).toHaveLength(1);
    expect(weak.stderr).toMatch(/^polythene: warning: proot runs without network/);
    const strict = await execIn(busyboxId, ['true'], ['--isolation', 'proot', '--strict']);
    expect(strict.exitCode).toBe(125);
    expect(strict.stderr).toContain('network');
  });

  it('prints nothing while probing unless verbose', async () => {
    const run = await execIn(busyboxId, ['echo', 'quiet']);
    expect(run.exitCode).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('quiet\n');
  });
});

describe('start-up', () => {
  // What exec loads, every call pays for: node:child_process alone is ~4.5 ms of start-up,
  // and creating process.stderr (net or the stream machinery) ~3 ms.
  it.each(['bwrap', 'proot', 'chroot'])(
    'loads the launcher and cli-main.cjs only, never node:child_process or a stderr stream, on the %s path (--json too)',
    async (backend) => {
      const work = await mkdtemp(join(tmpdir(), 'polythene-startup-'));
      const reportPath = join(work, 'loaded.json');
      const recorder = join(work, 'record-loads.cjs');
      await writeFile(
        recorder,
        `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(reportPath)},
          JSON.stringify({ builtins: process.moduleLoadList, files: Object.keys(require.cache) })));`,
      );
      const loadedBy = async (nodeOptions: string, flags: string[] = []) => {
        const run = await execIn(busyboxId, ['true'], ['--isolation', backend, ...flags], {
          NODE_OPTIONS: `--require ${recorder} ${nodeOptions}`,
        });
        expect(run.exitCode, run.stderr).toBe(0);
        // proot warns, in one line, that it runs with fewer guarantees; nothing else is said.
        expect(run.stderr).toMatch(backend === 'proot' ? /^polythene: warning: [^\n]+\n$/ : /^$/);
        return JSON.parse(await readFile(reportPath, 'utf8')) as {
          builtins: string[];
          files: string[];
        };
      };
      try {
        await loadedBy(''); // writes the code cache
        const loaded = await loadedBy('');
        expect(loaded.builtins).not.toContain('NativeModule child_process');
        expect(loaded.builtins).not.toContain('NativeModule net');
        expect(loaded.builtins).not.toContain('NativeModule internal/fs/sync_write_stream');
        expect(
          loaded.files.filter((file) => file !== recorder).map((file) => basename(file)),
        ).toEqual(['polythene.cjs', 'cli-main.cjs']);
        // --json captures the output through pipes, and gives the command an empty stdin.
        const json = await loadedBy('', ['--json']);
        expect(json.builtins).not.toContain('NativeModule child_process');
        // There, using libuv's handles would print a deprecation warning on every call:
        // node:child_process runs the backend instead, and stderr stays as it was (see above).
        const pending = await loadedBy('--pending-deprecation');
        expect(pending.builtins).toContain('NativeModule child_process');
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    },
  );
});

describe('polythene backends', () => {
  it('shows every backend with availability and guarantees', async () => {
    const run = await runPolythene(['backends', '--json']);
    expect(run.exitCode).toBe(0);
    const backends = JSON.parse(run.stdout) as {
      name: string;
      available: boolean;
      guarantees: string[];
    }[];
    expect(backends.map((backend) => backend.name)).toEqual(['bwrap', 'proot', 'chroot']);
    const bwrap = backends.find((backend) => backend.name === 'bwrap');
    expect(bwrap?.available).toBe(true);
    expect(bwrap?.guarantees).toContain('network');
    const table = await runPolythene(['backends']);
    expect(table.stdout).toMatch(/^BACKEND\s+AVAILABLE/);
  });
});

describe('the Python tool contract', () => {
  it('keeps `exec UUID -- CMD` and the flag after the uuid', async () => {
    const run = await runPolythene([
      'exec',
      busyboxId,
      '--store',
      store,
      '--',
      'echo',
      '--not-a-polythene-flag',
    ]);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toBe('--not-a-polythene-flag\n');
  });

  it('reads unusual command lines with cac: unknown options and missing values are usage errors', async () => {
    // The usual forms skip cac (parseExecArgv); everything else must still read as cac did.
    const unknown = await execIn(busyboxId, ['true'], ['--bogus']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toBe('polythene: Unknown option `--bogus` (see polythene --help)\n');
    const missing = await runPolythene(['exec', busyboxId, '--store']);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain('--store <dir>` value is missing');
    const help = await runPolythene(['exec', '--help']);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain('--backend-module <module>');
    const short = await execIn(busyboxId, ['echo', 'ok'], ['-h']);
    expect(short.exitCode).toBe(0);
    expect(short.stdout).toContain('Usage:');
  });

  it('exits 1 for a missing rootfs', async () => {
    const run = await execIn('01890a5d-ac96-774b-bcce-b302099a8000', ['true']);
    expect(run.exitCode).toBe(1);
    expect(existsSync(join(store, '01890a5d-ac96-774b-bcce-b302099a8000'))).toBe(false);
  });
});
