import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeExitCode } from '../src/run/decode-exit-code.ts';
import { type RunControls, superviseProcess } from '../src/run/supervise-process.ts';

// The host's sh stands in for a backend binary: the supervisor does not care what it runs.
const controls: RunControls = { stdio: 'pipe', killGraceMs: 2_000, forwardSignals: false };
const text = (data: Uint8Array | undefined): string => new TextDecoder().decode(data);

function runSh(
  script: string,
  overrides: Partial<RunControls> = {},
  env: Record<string, string> = { PATH: '/usr/bin:/bin' },
) {
  return superviseProcess({
    backend: 'test-sh',
    file: '/bin/sh',
    args: ['-c', script],
    env,
    controls: { ...controls, ...overrides },
    findCommandPid: (pid) => pid,
    interpretExit: (exit) =>
      exit.code === null ? { exitCode: null, signal: exit.signal } : decodeExitCode(exit.code),
  });
}

function findSleepers(marker: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
        return argv[0]?.endsWith('sleep') && argv[1] === marker;
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('superviseProcess', () => {
  it('gives the process exactly the environment it was given', async () => {
    process.env.GITHUB_TOKEN = 'supervisor-test-secret';
    try {
      const result = await superviseProcess({
        backend: 'test-env',
        file: '/usr/bin/env',
        args: [],
        env: { ONLY: 'this' },
        controls,
        interpretExit: (exit) => ({ exitCode: exit.code, signal: exit.signal }),
      });
      expect(text(result.stdout)).toBe('ONLY=this\n');
    } finally {
      delete process.env.GITHUB_TOKEN;
    }
  });

  it('feeds input, caps output and reports the exit code and backend', async () => {
    const result = await runSh('cat; head -c 5000 /dev/zero; exit 42', {
      input: 'in\n',
      maxOutputBytes: 100,
    });
    expect(result).toMatchObject({
      exitCode: 42,
      signal: null,
      timedOut: false,
      backend: 'test-sh',
      stdoutTruncated: true,
    });
    expect(result.stdout?.length).toBe(100);
    expect(text(result.stdout).startsWith('in\n')).toBe(true);
  });

  it('kills the whole process group on timeout', async () => {
    const marker = String(700_000 + Math.floor(Math.random() * 99_999));
    const result = await runSh(`sleep ${marker} & sleep ${marker}`, { timeoutMs: 500 });
    expect(result).toMatchObject({ timedOut: true, exitCode: null, signal: 'SIGKILL' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(findSleepers(marker)).toEqual([]);
  });

  it('forwards SIGTERM to the command and waits for it', async () => {
    const running = runSh("trap 'exit 7' TERM; while :; do sleep 0.05; done", {
      forwardSignals: true,
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    process.kill(process.pid, 'SIGTERM');
    expect((await running).exitCode).toBe(7);
  });

  it('kills the tree when the command ignores the forwarded signal past the grace period', async () => {
    const controller = new AbortController();
    const running = runSh("trap '' TERM; while :; do sleep 0.05; done", {
      abortSignal: controller.signal,
      killGraceMs: 200,
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    controller.abort();
    expect(await running).toMatchObject({ signal: 'SIGKILL', timedOut: false });
  });

  it('refuses to start an aborted run', async () => {
    await expect(runSh('exit 0', { abortSignal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'POLYTHENE_INTERRUPTED',
    });
  });

  it('throws POLYTHENE_SETUP_FAILED when the backend binary cannot start', async () => {
    await expect(
      superviseProcess({
        backend: 'missing',
        file: '/nonexistent/backend',
        args: [],
        env: {},
        controls,
        interpretExit: () => ({ exitCode: 0, signal: null }),
      }),
    ).rejects.toMatchObject({ code: 'POLYTHENE_SETUP_FAILED' });
  });
});
