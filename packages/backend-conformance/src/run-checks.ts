import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConformanceCheck, TextRunResult } from './conformance-types.ts';
import {
  createMarker,
  HOST_SECRETS,
  readHostFile,
  runInSandbox,
  runShell,
} from './sandbox-helpers.ts';

/**
 * What running a command means, for every backend: exit codes and signals, stdin, bounded
 * output, the exact environment, fds, cwd, uid/gid, file writes, binds, set-up failures.
 */
export const RUN_CHECKS: readonly ConformanceCheck[] = [
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
];
