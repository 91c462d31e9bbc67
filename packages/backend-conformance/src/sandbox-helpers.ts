import { readdirSync, readFileSync } from 'node:fs';
import type { RunSpec } from '@polythene/probe';
import type { ConformanceContext, TextRunResult } from './conformance-types.ts';

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

/** A host file's text, or undefined when it cannot be read. */
export function readHostFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The session id of a process (`self`: this one), from /proc. */
export function readSessionId(pid: number | 'self'): number | undefined {
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
