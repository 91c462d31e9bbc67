import assert from 'node:assert/strict';
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AvailableProbe, Backend, Guarantee, RunResult, RunSpec } from '@polythene/probe';
import { ESCAPE_CHECKS } from './escape-checks.ts';
import { HOSTILE_IMAGE_CHECKS } from './hostile-image-checks.ts';
import { OVERLAY_CHECKS } from './overlay-checks.ts';

/** What every conformance check gets: the backend, its probe here, and a rootfs to run in. */
export interface ConformanceContext {
  /** The backend under test. */
  readonly backend: Backend;
  /** Its (available) probe result on this host. */
  readonly probe: AvailableProbe;
  /** Host path of a busybox root filesystem (static busybox, applets in /bin, /tmp 1777). */
  readonly rootfs: string;
}

/** One behaviour every backend must show, checked from inside the sandbox where possible. */
export interface ConformanceCheck {
  /** What a user relies on, as a sentence. */
  readonly name: string;
  /**
   * Checked in full when the backend claims this guarantee on this host; when it does not, the
   * check verifies instead that the probe reports the guarantee lost, with a reason (never a
   * silent downgrade).
   */
  readonly guarantee?: Guarantee;
  /**
   * Why the check does not apply to this backend here (e.g. it offers no overlay roots), or
   * undefined when it does; `verifyNotApplicable` then checks that the backend is honest
   * about it instead.
   */
  readonly notApplicableReason?: (context: ConformanceContext) => string | undefined;
  /** What must hold when the check does not apply (e.g. an overlay spec is refused). */
  readonly verifyNotApplicable?: (context: ConformanceContext) => Promise<void>;
  /** Throws (an assertion error) when the backend does not behave. */
  readonly run: (context: ConformanceContext) => Promise<void>;
}

/** A run's captured output as text. */
export interface TextRunResult extends RunResult {
  /** Captured stdout, decoded as UTF-8. */
  readonly out: string;
  /** Captured stderr, decoded as UTF-8. */
  readonly err: string;
}

const decoder = new TextDecoder();

/**
 * Runs `argv` in the context's rootfs in `pipe` mode as root (0:0) in `/`, with a tiny
 * environment, and decodes the output; `overrides` replace any field of the spec.
 */
export async function runInSandbox(
  context: ConformanceContext,
  argv: readonly string[],
  overrides: Partial<RunSpec> = {},
): Promise<TextRunResult> {
  const spec: RunSpec = {
    rootfs: context.rootfs,
    argv,
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
    cwd: '/',
    uid: 0,
    gid: 0,
    binds: [],
    stdio: 'pipe',
    killGraceMs: 2_000,
    forwardSignals: false,
    timeoutMs: 60_000,
    probe: context.probe,
    ...overrides,
  };
  const result = await context.backend.run(spec);
  return {
    ...result,
    out: result.stdout === undefined ? '' : decoder.decode(result.stdout),
    err: result.stderr === undefined ? '' : decoder.decode(result.stderr),
  };
}

/** Runs a shell snippet (busybox sh) in the sandbox. */
export function runShell(
  context: ConformanceContext,
  script: string,
  overrides: Partial<RunSpec> = {},
): Promise<TextRunResult> {
  return runInSandbox(context, ['/bin/sh', '-c', script], overrides);
}

/** A number unlikely to appear in any other process's command line, to find ours on the host. */
export function createMarker(): string {
  return String(800_000 + Math.floor(Math.random() * 99_999));
}

/**
 * Host pids whose command line is exactly `sleep <marker>` (any path to sleep): the sleeper
 * itself, not a backend process that carries it in its own argv.
 */
export function findSleepers(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv[0]?.endsWith('sleep') && argv[1] === marker) pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

/** Waits until `predicate` holds, polling every 20 ms; throws after `timeoutMs`. */
export async function waitFor(
  what: string,
  predicate: () => boolean,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function readHostFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function readSessionId(pid: number | 'self'): number | undefined {
  const stat = readHostFile(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[3]);
}

/** Host secrets that must never reach a sandboxed command. */
export const HOST_SECRETS: Readonly<Record<string, string>> = {
  GITHUB_TOKEN: 'polythene-conformance-github-token',
  AWS_SECRET_ACCESS_KEY: 'polythene-conformance-aws-secret',
  SSH_AUTH_SOCK: '/tmp/polythene-conformance-ssh-agent.sock',
  LD_PRELOAD: '/polythene-conformance-preload.so',
};

// Capability bits that let a root process leave a chroot or reach the host.
const escapeCapabilities: readonly [string, number][] = [
  ['cap_dac_read_search', 2],
  ['cap_sys_module', 16],
  ['cap_sys_rawio', 17],
  ['cap_sys_chroot', 18],
  ['cap_sys_ptrace', 19],
  ['cap_sys_admin', 21],
  ['cap_mknod', 27],
];

const allowedDevEntries = new Set([
  'null',
  'zero',
  'full',
  'random',
  'urandom',
  'tty',
  'pts',
  'ptmx',
  'shm',
  'fd',
  'stdin',
  'stdout',
  'stderr',
  'core',
  'console',
  'mqueue',
]);

function namespaceCheck(guarantee: Guarantee, namespace: string): ConformanceCheck {
  return {
    name: `gives the command its own ${namespace} namespace`,
    guarantee,
    run: async (context) => {
      const host = readlinkSync(`/proc/self/ns/${namespace}`);
      const result = await runInSandbox(context, ['/bin/readlink', `/proc/self/ns/${namespace}`]);
      assert.equal(result.exitCode, 0, result.err);
      assert.match(result.out.trim(), new RegExp(`^${namespace}:\\[\\d+\\]$`));
      assert.notEqual(
        result.out.trim(),
        host,
        `the command shares polythene's ${namespace} namespace`,
      );
    },
  };
}

/** Every check, in the order a suite runs them. */
export const CONFORMANCE_CHECKS: readonly ConformanceCheck[] = [
  {
    name: 'reports the exit codes 0, 1 and 42',
    run: async (context) => {
      for (const code of [0, 1, 42]) {
        const result = await runShell(context, `exit ${code}`);
        assert.equal(result.exitCode, code, result.err);
        assert.equal(result.signal, null);
        assert.equal(result.timedOut, false);
        assert.equal(result.backend, context.backend.name);
      }
    },
  },
  {
    name: 'reports death by signal as the signal',
    run: async (context) => {
      const result = await runShell(context, 'kill -TERM $$; sleep 5');
      assert.equal(result.signal, 'SIGTERM', result.err);
      assert.equal(result.exitCode, null);
    },
  },
  {
    name: 'feeds input to stdin in pipe mode, and empty stdin without it',
    run: async (context) => {
      const fed = await runInSandbox(context, ['/bin/cat'], { input: 'hello from stdin\n' });
      assert.equal(fed.exitCode, 0, fed.err);
      assert.equal(fed.out, 'hello from stdin\n');
      const empty = await runInSandbox(context, ['/bin/cat']);
      assert.equal(empty.exitCode, 0, empty.err);
      assert.equal(empty.out, '');
    },
  },
  {
    name: 'caps captured stdout and stderr at maxOutputBytes and marks them truncated',
    run: async (context) => {
      const result = await runShell(context, 'head -c 200000 /dev/zero; head -c 50 /dev/zero >&2', {
        maxOutputBytes: 1000,
      });
      assert.equal(result.exitCode, 0, result.err);
      assert.equal(result.stdout?.length, 1000);
      assert.equal(result.stdoutTruncated, true);
      assert.equal(result.stderr?.length, 50);
      assert.equal(result.stderrTruncated, false);
    },
  },
  {
    name: 'gives the command exactly the environment it was given, no host secrets',
    run: async (context) => {
      const saved = Object.fromEntries(
        Object.keys(HOST_SECRETS).map((key) => [key, process.env[key]]),
      );
      Object.assign(process.env, HOST_SECRETS);
      try {
        const env = { PATH: '/bin', POLYTHENE_CONFORMANCE: 'a value with spaces = and "quotes"' };
        const result = await runInSandbox(context, ['/usr/bin/env'], { env });
        assert.equal(result.exitCode, 0, result.err);
        // bwrap always exports PWD for the working directory (as any shell would): allowed.
        const lines = result.out.split('\n').filter((line) => line !== '' && line !== 'PWD=/');
        assert.deepEqual(lines.sort(), [
          'PATH=/bin',
          'POLYTHENE_CONFORMANCE=a value with spaces = and "quotes"',
        ]);
        // Every process the command can see: with its own pid namespace that is the whole
        // sandbox; otherwise (proot) at least itself and its parent, the backend.
        const scope = context.probe.guarantees.includes('pid')
          ? '/proc/[0-9]*'
          : '/proc/self /proc/$PPID';
        const scan = await runShell(
          context,
          `for p in ${scope}; do cat $p/environ $p/cmdline 2>/dev/null; done | tr '\\0' '\\n'`,
        );
        for (const [name, value] of Object.entries(HOST_SECRETS)) {
          assert.ok(!scan.out.includes(value), `${name} reached the sandbox`);
        }
        assert.ok(scan.out.includes('PATH=/usr/sbin'), 'the scan read no environment at all');
      } finally {
        for (const [key, value] of Object.entries(saved)) {
          if (value === undefined) delete process.env[key];
          else process.env[key] = value;
        }
      }
    },
  },
  {
    name: 'hands the command no file descriptor beyond stdin, stdout and stderr',
    run: async (context) => {
      // A backend's own channels (bwrap's status fd, chroot's ready fd) must not reach the
      // command: one it could write to would let it forge its exit status.
      // Both stdio modes: a backend may set up its channels differently for each. The exit
      // status carries the answer, since inherited output does not come back.
      const script =
        'open=; for n in 3 4 5 6 7 8 9 10 11 12 13 14 15; do [ -e /proc/self/fd/$n ] && open="$open $n"; done; [ -z "$open" ] || { echo "extra fds:$open" >&2; exit 1; }';
      for (const stdio of ['pipe', 'inherit'] as const) {
        const result = await runShell(context, script, { stdio });
        assert.equal(result.exitCode, 0, `${stdio}: ${result.err}`);
      }
    },
  },
  {
    name: 'starts the command in the working directory',
    run: async (context) => {
      const result = await runShell(context, 'pwd -P', { cwd: '/tmp' });
      assert.equal(result.exitCode, 0, result.err);
      assert.equal(result.out.trim(), '/tmp');
      const etc = await runInSandbox(context, ['/bin/ls', 'passwd'], { cwd: '/etc' });
      assert.equal(etc.exitCode, 0, etc.err);
    },
  },
  {
    name: 'runs the command as the requested uid and gid',
    run: async (context) => {
      for (const id of [0, 1000]) {
        const result = await runShell(context, 'echo "$(id -u):$(id -g)"', { uid: id, gid: id });
        assert.equal(result.exitCode, 0, result.err);
        assert.equal(result.out.trim(), `${id}:${id}`);
      }
    },
  },
  {
    name: 'persists file writes in the rootfs',
    run: async (context) => {
      const marker = createMarker();
      const asRoot = await runShell(context, `echo root-wrote > /root/conformance-${marker}`);
      assert.equal(asRoot.exitCode, 0, asRoot.err);
      assert.equal(
        readHostFile(join(context.rootfs, `root/conformance-${marker}`)),
        'root-wrote\n',
      );
      const asUser = await runShell(context, `echo user-wrote > /tmp/conformance-${marker}`, {
        uid: 1000,
        gid: 1000,
      });
      assert.equal(asUser.exitCode, 0, asUser.err);
      assert.equal(readHostFile(join(context.rootfs, `tmp/conformance-${marker}`)), 'user-wrote\n');
      rmSync(join(context.rootfs, `root/conformance-${marker}`), { force: true });
      rmSync(join(context.rootfs, `tmp/conformance-${marker}`), { force: true });
    },
  },
  {
    name: 'binds host paths read-write, creating missing targets',
    run: async (context) => {
      const hostDir = mkdtempSync(join(tmpdir(), 'polythene-conformance-bind-'));
      const marker = createMarker();
      try {
        writeFileSync(join(hostDir, 'in.txt'), 'from the host\n');
        const binds = [{ source: hostDir, target: `/mnt/rw-${marker}`, readOnly: false }];
        const result = await runShell(
          context,
          `cat /mnt/rw-${marker}/in.txt && echo written > /mnt/rw-${marker}/out.txt`,
          {
            binds,
          },
        );
        assert.equal(result.exitCode, 0, result.err);
        assert.equal(result.out, 'from the host\n');
        assert.equal(readHostFile(join(hostDir, 'out.txt')), 'written\n');
      } finally {
        rmSync(hostDir, { recursive: true, force: true });
        rmSync(join(context.rootfs, `mnt/rw-${marker}`), { recursive: true, force: true });
      }
    },
  },
  {
    name: 'binds host paths read-only, or refuses the bind (never a silent read-write bind)',
    run: async (context) => {
      const hostDir = mkdtempSync(join(tmpdir(), 'polythene-conformance-bind-'));
      const marker = createMarker();
      try {
        writeFileSync(join(hostDir, 'in.txt'), 'from the host\n');
        const binds = [{ source: hostDir, target: `/mnt/ro-${marker}`, readOnly: true }];
        let result: TextRunResult;
        try {
          result = await runShell(
            context,
            `cat /mnt/ro-${marker}/in.txt && ! (echo x > /mnt/ro-${marker}/denied.txt) 2>/dev/null`,
            { binds },
          );
        } catch (error) {
          const { code, message } = error as { code?: string; message?: string };
          assert.equal(code, 'POLYTHENE_SETUP_FAILED');
          assert.match(message ?? '', /read-only/);
          return;
        }
        assert.equal(result.exitCode, 0, result.err);
        assert.equal(result.out, 'from the host\n');
        assert.equal(readHostFile(join(hostDir, 'denied.txt')), undefined);
      } finally {
        rmSync(hostDir, { recursive: true, force: true });
        rmSync(join(context.rootfs, `mnt/ro-${marker}`), { recursive: true, force: true });
      }
    },
  },
  {
    name: 'throws POLYTHENE_SETUP_FAILED, not an exit code, when the sandbox cannot be set up',
    run: async (context) => {
      await assert.rejects(
        runInSandbox(context, ['/bin/true'], {
          binds: [
            { source: '/nonexistent/polythene-conformance', target: '/mnt/x', readOnly: true },
          ],
        }),
        (error: unknown) => (error as { code?: string }).code === 'POLYTHENE_SETUP_FAILED',
      );
    },
  },
  {
    name: 'kills the whole tree on timeout and reports timedOut',
    run: async (context) => {
      const marker = createMarker();
      const started = Date.now();
      const result = await runShell(context, `sleep ${marker} & sleep ${marker}; echo not-killed`, {
        timeoutMs: 1_500,
      });
      assert.equal(result.timedOut, true);
      assert.equal(result.exitCode, null);
      assert.notEqual(result.signal, null);
      assert.ok(Date.now() - started < 15_000, 'the timeout did not end the run promptly');
      assert.equal(result.out, '');
      await waitFor('the sleepers to be gone', () => findSleepers(marker).length === 0, 5_000);
    },
  },
  {
    name: 'runs the command in its own session (no TIOCSTI into our terminal)',
    guarantee: 'new-session',
    run: async (context) => {
      const marker = createMarker();
      const running = runShell(context, `sleep ${marker}`, { timeoutMs: 20_000 });
      try {
        await waitFor('the command to start', () => findSleepers(marker).length > 0);
        for (const pid of findSleepers(marker)) {
          assert.notEqual(
            readSessionId(pid),
            readSessionId('self'),
            'the command shares our session',
          );
        }
      } finally {
        for (const pid of findSleepers(marker)) process.kill(pid, 'SIGKILL');
        await running.catch(() => undefined);
      }
    },
  },
  {
    name: 'leaves no process behind when the command exits',
    run: async (context) => {
      const marker = createMarker();
      const result = await runShell(context, `sleep ${marker} > /dev/null 2>&1 & exit 3`, {
        timeoutMs: 30_000,
      });
      assert.equal(result.exitCode, 3, result.err);
      assert.equal(result.timedOut, false);
      await waitFor(
        'the background sleeper to be gone',
        () => findSleepers(marker).length === 0,
        5_000,
      );
    },
  },
  {
    name: 'forwards SIGTERM received by polythene to the command',
    run: async (context) => {
      const marker = createMarker();
      const script = `trap 'echo got-term > /tmp/term-${marker}; exit 7' TERM; touch /tmp/ready-${marker}; while :; do sleep 0.1; done`;
      const running = runShell(context, script, { forwardSignals: true, killGraceMs: 10_000 });
      try {
        await waitFor(
          'the trap to be set',
          () => readHostFile(join(context.rootfs, `tmp/ready-${marker}`)) !== undefined,
        );
        process.kill(process.pid, 'SIGTERM');
        const result = await running;
        assert.equal(result.exitCode, 7, result.err);
        assert.equal(readHostFile(join(context.rootfs, `tmp/term-${marker}`)), 'got-term\n');
      } finally {
        rmSync(join(context.rootfs, `tmp/ready-${marker}`), { force: true });
        rmSync(join(context.rootfs, `tmp/term-${marker}`), { force: true });
      }
    },
  },
  {
    name: 'ends the command like a forwarded SIGTERM when aborted',
    run: async (context) => {
      const marker = createMarker();
      const controller = new AbortController();
      const script = `trap 'exit 9' TERM; touch /tmp/ready-${marker}; while :; do sleep 0.1; done`;
      const running = runShell(context, script, {
        abortSignal: controller.signal,
        killGraceMs: 10_000,
      });
      try {
        await waitFor(
          'the trap to be set',
          () => readHostFile(join(context.rootfs, `tmp/ready-${marker}`)) !== undefined,
        );
        controller.abort();
        const result = await running;
        assert.equal(result.exitCode, 9, result.err);
      } finally {
        rmSync(join(context.rootfs, `tmp/ready-${marker}`), { force: true });
      }
    },
  },
  {
    name: 'kills the tree when the command ignores a forwarded signal past the grace period',
    run: async (context) => {
      const marker = createMarker();
      const controller = new AbortController();
      const script = `trap '' TERM; touch /tmp/ready-${marker}; sleep ${marker}`;
      const running = runShell(context, script, {
        abortSignal: controller.signal,
        killGraceMs: 300,
      });
      try {
        await waitFor(
          'the trap to be set',
          () => readHostFile(join(context.rootfs, `tmp/ready-${marker}`)) !== undefined,
        );
        controller.abort();
        const result = await running;
        assert.equal(result.signal, 'SIGKILL');
        assert.equal(result.timedOut, false);
        await waitFor('the sleeper to be gone', () => findSleepers(marker).length === 0, 5_000);
      } finally {
        rmSync(join(context.rootfs, `tmp/ready-${marker}`), { force: true });
      }
    },
  },
  {
    name: 'gives the command no network but loopback',
    guarantee: 'network',
    run: async (context) => {
      const result = await runInSandbox(context, ['/bin/cat', '/proc/net/dev']);
      assert.equal(result.exitCode, 0, result.err);
      const interfaces = result.out
        .split('\n')
        .slice(2)
        .map((line) => line.split(':')[0]?.trim())
        .filter(Boolean);
      assert.deepEqual(interfaces, ['lo']);
    },
  },
  namespaceCheck('network', 'net'),
  namespaceCheck('pid', 'pid'),
  namespaceCheck('ipc', 'ipc'),
  namespaceCheck('uts', 'uts'),
  {
    name: 'shows the command only its own processes',
    guarantee: 'pid',
    run: async (context) => {
      const result = await runShell(context, 'ls -d /proc/[0-9]*');
      assert.equal(result.exitCode, 0, result.err);
      const pids = result.out.split('\n').filter(Boolean);
      assert.ok(pids.length > 0 && pids.length < 10, `the command sees ${pids.length} processes`);
    },
  },
  {
    name: "mounts a /proc that matches the command's own pid namespace",
    guarantee: 'proc',
    run: async (context) => {
      const result = await runShell(
        context,
        'sed -n "s/^Pid:[[:space:]]*//p" /proc/$$/status; echo $$',
      );
      assert.equal(result.exitCode, 0, result.err);
      const [fromProc, fromShell] = result.out.split('\n');
      assert.equal(fromProc, fromShell);
    },
  },
  {
    name: 'gives the command a minimal /dev with no host devices',
    guarantee: 'dev',
    run: async (context) => {
      const result = await runShell(
        context,
        'ls -A /dev; echo ---; echo x > /dev/null && head -c 4 /dev/zero | wc -c',
      );
      assert.equal(result.exitCode, 0, result.err);
      const [listing = '', check = ''] = result.out.split('---\n');
      const entries = listing.split('\n').filter(Boolean);
      const unexpected = entries.filter((entry) => !allowedDevEntries.has(entry));
      assert.deepEqual(unexpected, [], `host devices visible: ${unexpected.join(', ')}`);
      for (const needed of ['null', 'zero', 'full', 'random', 'urandom', 'tty']) {
        assert.ok(entries.includes(needed), `/dev/${needed} is missing`);
      }
      assert.equal(check.trim(), '4');
    },
  },
  {
    name: 'drops the capabilities that allow escape, so chroot escapes fail',
    guarantee: 'capabilities',
    run: async (context) => {
      for (const id of [0, 1000]) {
        // In-box root may hold CAP_SYS_CHROOT (the container set): chroot then works, but
        // `..` from a chroot inside the box still ends at the box's own root.
        const result = await runShell(
          context,
          'grep -E "^(CapEff|CapPrm|NoNewPrivs):" /proc/self/status; echo box > /tmp/box-marker; mkdir -p /tmp/escape && chroot /tmp/escape /bin/true; echo "chroot=$?"; chroot / /bin/sh -c "cd ../../../../../..; cat tmp/box-marker" 2>/dev/null',
          { uid: id, gid: id },
        );
        const fields = Object.fromEntries(
          result.out
            .split('\n')
            .filter((line) => line.includes(':'))
            .map((line) => line.split(':').map((part) => part.trim()) as [string, string]),
        );
        const effective = BigInt(`0x${fields.CapEff ?? 'ffffffffffffffff'}`);
        const holdsChroot = id === 0 && ((effective >> 18n) & 1n) === 1n;
        for (const [name, bit] of escapeCapabilities) {
          if (holdsChroot && name === 'cap_sys_chroot') continue;
          assert.equal((effective >> BigInt(bit)) & 1n, 0n, `uid ${id} keeps ${name}`);
        }
        if (id !== 0) assert.equal(fields.CapEff, '0000000000000000', `uid ${id} has capabilities`);
        assert.equal(fields.NoNewPrivs, '1', `uid ${id} may gain privileges (no_new_privs unset)`);
        assert.match(result.out, /chroot=[1-9]/);
        if (holdsChroot) {
          assert.match(result.out, /^box$/m, 'chroot from inside the box left the box');
        } else {
          assert.match(result.err, /Operation not permitted/);
        }
      }
    },
  },
  ...OVERLAY_CHECKS,
  ...HOSTILE_IMAGE_CHECKS,
  ...ESCAPE_CHECKS,
];

/** A check's outcome outside vitest (see {@link runConformanceChecks}). */
export interface ConformanceCheckResult {
  /** The check's name. */
  readonly name: string;
  /** `passed` or `failed`. */
  readonly status: 'passed' | 'failed';
  /** The failure message. */
  readonly error?: string;
  /**
   * Set when the check did not apply and its honesty check ran instead: why (the guarantee's
   * lost reason, or {@link ConformanceCheck.notApplicableReason}).
   */
  readonly notApplicable?: string;
}

/**
 * Runs every check in sequence without vitest (e.g. in a script run as another user) and
 * reports each outcome as data.
 */
export async function runConformanceChecks(
  context: ConformanceContext,
  checks: readonly ConformanceCheck[] = CONFORMANCE_CHECKS,
): Promise<ConformanceCheckResult[]> {
  const results: ConformanceCheckResult[] = [];
  for (const check of checks) {
    const notApplicable = findNotApplicable(check, context);
    if (notApplicable !== undefined) {
      try {
        await verifyHonesty(check, context);
        results.push({ name: check.name, status: 'passed', notApplicable });
      } catch (error) {
        results.push({
          name: check.name,
          status: 'failed',
          error: error instanceof Error ? error.message : String(error),
        });
      }
      continue;
    }
    try {
      await check.run(context);
      results.push({ name: check.name, status: 'passed' });
    } catch (error) {
      results.push({
        name: check.name,
        status: 'failed',
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
  return results;
}

/**
 * Why `check` does not apply to the context's backend here (an unclaimed guarantee, or its
 * own reason), or undefined when it does.
 */
export function findNotApplicable(
  check: ConformanceCheck,
  context: ConformanceContext,
): string | undefined {
  if (check.guarantee !== undefined && !context.probe.guarantees.includes(check.guarantee)) {
    return `${context.backend.name} does not claim "${check.guarantee}" here: ${context.probe.lost[check.guarantee] ?? 'no reason given'}`;
  }
  return check.notApplicableReason?.(context);
}

/**
 * What a backend owes when a check does not apply: an unclaimed guarantee is reported lost
 * with a reason (so `polythene backends`, the warning and `--strict` can say so), and the
 * check's own `verifyNotApplicable` holds.
 */
export async function verifyHonesty(
  check: ConformanceCheck,
  context: ConformanceContext,
): Promise<void> {
  if (check.guarantee !== undefined && !context.probe.guarantees.includes(check.guarantee)) {
    const reason = context.probe.lost[check.guarantee];
    if (typeof reason !== 'string' || reason.trim() === '') {
      throw new Error(
        `${context.backend.name} neither claims "${check.guarantee}" nor reports it lost with a reason`,
      );
    }
    return;
  }
  await check.verifyNotApplicable?.(context);
}
