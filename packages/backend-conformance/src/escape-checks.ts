import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConformanceCheck, ConformanceContext } from './conformance-types.ts';
import { ESCAPE_PROBE_SOURCE } from './escape-probe-source.ts';
import {
  createMarker,
  findSleepers,
  HOST_SECRETS,
  runInSandbox,
  runShell,
  waitFor,
} from './sandbox-helpers.ts';

let builtProbe: string | undefined;

/**
 * The escape probe (see `escape-probe-source.ts`) compiled static for this host, once per
 * process, with the C compiler on PATH (`cc`, else `gcc`).
 */
export function buildEscapeProbe(): string {
  if (builtProbe !== undefined && existsSync(builtProbe)) return builtProbe;
  const dir = mkdtempSync(join(tmpdir(), 'polythene-escape-probe-'));
  const source = join(dir, 'escape-probe.c');
  const output = join(dir, 'escape-probe');
  writeFileSync(source, ESCAPE_PROBE_SOURCE);
  let lastError: unknown;
  for (const compiler of ['cc', 'gcc']) {
    try {
      execFileSync(compiler, ['-static', '-O1', '-o', output, source], { stdio: 'pipe' });
      builtProbe = output;
      return output;
    } catch (error) {
      lastError = error;
    }
  }
  throw new Error(
    `the escape checks build a small static C program and need a C compiler with a static libc (apt-get install gcc libc6-dev): ${String(lastError)}`,
  );
}

/** Puts the escape probe into the rootfs as `/bin/polythene-escape-probe`; returns that path. */
function installEscapeProbe(context: ConformanceContext): string {
  const inBox = '/bin/polythene-escape-probe';
  const hostPath = join(context.rootfs, inBox);
  if (!existsSync(hostPath)) copyFileSync(buildEscapeProbe(), hostPath);
  return inBox;
}

// O_CLOEXEC in /proc/<pid>/fdinfo's octal flags.
const closeOnExecFlag = 0o2000000;

/**
 * The descriptors above 2 this process holds without close-on-exec: what it inherited from
 * its caller (bash's `exec 50</etc`, a test harness's pipe), which a child would inherit too.
 */
export function listInheritedFds(): number[] {
  const fds: number[] = [];
  for (const entry of readdirSync('/proc/self/fd')) {
    const fd = Number(entry);
    if (!Number.isInteger(fd) || fd <= 2) continue;
    try {
      const flags = /^flags:\s+([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
      if (flags?.[1] !== undefined && (Number.parseInt(flags[1], 8) & closeOnExecFlag) === 0) {
        fds.push(fd);
      }
    } catch {
      // Closed meanwhile (the directory listing's own descriptor).
    }
  }
  return fds;
}

/**
 * Checks that a hostile command cannot leave the box through the ways a security review
 * found: descriptors its caller inherited, the caller's kernel keyrings, system calls a
 * tracing backend does not translate, and daemons that outlive the command.
 */
export const ESCAPE_CHECKS: readonly ConformanceCheck[] = [
  {
    name: 'hands the command no descriptor its caller inherited (an open host directory)',
    notApplicableReason: () =>
      listInheritedFds().length === 0
        ? 'this process holds no inherited descriptor; run the suite from a caller that does (e.g. bash after `exec 50</etc`) to check it'
        : undefined,
    run: async (context) => {
      const inherited = listInheritedFds();
      const probe = installEscapeProbe(context);
      for (const stdio of ['pipe', 'inherit'] as const) {
        // The answer comes back as the exit status: inherited output does not come back.
        const result = await runShell(
          context,
          `fds=$(${probe} fds); [ -z "$fds" ] || { echo "$fds" >&2; exit 1; }`,
          { stdio },
        );
        assert.equal(
          result.exitCode,
          0,
          `${stdio}: the command received descriptors (polythene holds ${inherited.join(', ')}): ${result.err}`,
        );
      }
    },
  },
  {
    name: "gives the command no key of the caller's session or user keyring",
    guarantee: 'keyring',
    run: async (context) => {
      const probe = installEscapeProbe(context);
      const description = `polythene-conformance-${createMarker()}`;
      // A child shares this process's session keyring (or the user-session keyring when there
      // is none) and its user keyring: the key lands where the backend's process would look.
      execFileSync(buildEscapeProbe(), ['add-key', description, 'keyring-secret'], {
        stdio: 'pipe',
      });
      for (const id of [0, 1000]) {
        const result = await runInSandbox(context, [probe, 'keys', description], {
          uid: id,
          gid: id,
        });
        assert.equal(result.exitCode, 0, result.err);
        assert.doesNotMatch(
          result.out,
          /^found /m,
          `uid ${id} read the caller's key: ${result.out}`,
        );
        assert.doesNotMatch(result.out, /keyring-secret/);
      }
    },
  },
  {
    name: 'lets no system call reach a host path, not even those a tracer may not translate',
    run: async (context) => {
      const probe = installEscapeProbe(context);
      const hostDir = mkdtempSync(join(tmpdir(), 'polythene-conformance-host-only-'));
      const hostFile = join(hostDir, 'only-on-the-host');
      writeFileSync(hostFile, 'host secret\n', { mode: 0o644 });
      try {
        assert.ok(!existsSync(join(context.rootfs, hostFile)), 'the rootfs has the host path');
        const direct = await runInSandbox(context, [probe, 'syscalls', hostFile]);
        assert.equal(direct.exitCode, 0, direct.err);
        assert.match(direct.out, /^control stat 2$/m, `plain stat saw the file: ${direct.out}`);
        const reached = direct.out.split('\n').filter((line) => line.startsWith('reached '));
        assert.deepEqual(reached, [], `system calls reached the host file: ${reached.join(', ')}`);
        const shell = await runShell(
          context,
          `stat ${hostFile}; ls -l ${hostFile}; [ -r ${hostFile} ] && echo readable; [ -e ${hostFile} ] && echo exists; cat ${hostFile}; true`,
        );
        assert.doesNotMatch(shell.out, /readable|exists|host secret|only-on-the-host/);
      } finally {
        rmSync(hostDir, { recursive: true, force: true });
      }
    },
  },
  {
    name: 'denies io_uring and execveat where it does not confine the filesystem (a tracer never sees their paths)',
    notApplicableReason: (context) =>
      context.probe.guarantees.includes('filesystem')
        ? `${context.backend.name} confines the filesystem itself (a namespace, not a tracer's translation)`
        : undefined,
    run: async (context) => {
      const probe = installEscapeProbe(context);
      for (const id of [0, 1000]) {
        const result = await runInSandbox(context, [probe, 'unsafe-calls'], { uid: id, gid: id });
        assert.equal(result.exitCode, 0, result.err);
        assert.match(result.out, /^done$/m, result.out);
        const available = result.out.split('\n').filter((line) => line.startsWith('available '));
        assert.deepEqual(available, [], `uid ${id}: ${available.join(', ')}`);
      }
    },
  },
  {
    name: "cannot take polythene's descriptors or read its memory through system calls",
    run: async (context) => {
      const probe = installEscapeProbe(context);
      for (const id of [0, 1000]) {
        // This process stands in for polythene. Where the command shares its pid namespace
        // and user (proot), only the guard's filter stands in the way.
        const result = await runInSandbox(context, [probe, 'peek', String(process.pid)], {
          uid: id,
          gid: id,
        });
        assert.equal(result.exitCode, 0, result.err);
        assert.doesNotMatch(result.out, /^reached /m, `uid ${id}: ${result.out}`);
      }
    },
  },
  {
    name: "cannot read polythene's environment or memory, nor a secret of any process between",
    run: async (context) => {
      const probe = installEscapeProbe(context);
      // Reversed: the probe's argv (which a tracing backend copies) never holds the secret.
      const secret = HOST_SECRETS.GITHUB_TOKEN ?? 'polythene-conformance-github-token';
      const reversed = [...secret].reverse().join('');
      // A root command of a backend that keeps host root (proot run by root) could read
      // anything: when polythene is root, the command runs as another user.
      const ids = process.geteuid?.() === 0 ? [1000] : [0, 1000];
      for (const id of ids) {
        // This process stands in for polythene (its environment holds HOST_SECRETS when the
        // suite runs as the unprivileged user); where the command shares its pid namespace
        // and user (proot), only its being non-dumpable keeps /proc/<pid>/environ and
        // /proc/<pid>/mem closed.
        const result = await runInSandbox(
          context,
          [probe, 'ancestors', String(process.pid), reversed],
          { uid: id, gid: id },
        );
        assert.equal(result.exitCode, 0, result.err);
        assert.match(result.out, /^(target \d+|no target)$/m, result.out);
        assert.doesNotMatch(result.out, /^reached /m, `uid ${id}: ${result.out}`);
      }
    },
  },
  {
    name: 'returns when the command ends, killing the daemons it left (new sessions too)',
    run: async (context) => {
      const marker = createMarker();
      const started = Date.now();
      // One daemon in a session of its own, one orphaned by a subshell: neither is in the
      // command's process group, nor a child of anything still running in the box.
      const result = await runShell(
        context,
        `setsid sleep ${marker} </dev/null >/dev/null 2>&1 & (sleep ${marker} </dev/null >/dev/null 2>&1 &); exit 4`,
        { timeoutMs: 30_000 },
      );
      try {
        assert.equal(result.timedOut, false, 'the run waited for the daemons until its timeout');
        assert.equal(result.exitCode, 4, result.err);
        assert.ok(Date.now() - started < 15_000, 'the run waited for the daemons');
        await waitFor('the daemons to be gone', () => findSleepers(marker).length === 0, 5_000);
      } finally {
        for (const pid of findSleepers(marker)) process.kill(pid, 'SIGKILL');
      }
    },
  },
  {
    name: 'kills daemons that left the process group when the run times out',
    run: async (context) => {
      const marker = createMarker();
      const result = await runShell(
        context,
        `setsid sleep ${marker} </dev/null >/dev/null 2>&1 & (sleep ${marker} </dev/null >/dev/null 2>&1 &); sleep ${marker}`,
        { timeoutMs: 1_500 },
      );
      try {
        assert.equal(result.timedOut, true);
        await waitFor('every sleeper to be gone', () => findSleepers(marker).length === 0, 5_000);
      } finally {
        for (const pid of findSleepers(marker)) process.kill(pid, 'SIGKILL');
      }
    },
  },
];
