import { ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type BackendSpawnOptions,
  type SupervisedChild,
  spawnBackendProcess,
} from './spawn-backend-process.ts';

interface Ending {
  readonly events: string[];
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly error?: NodeJS.ErrnoException;
}

/** Collects the child's events in order until it closed or failed to start. */
function ending(child: SupervisedChild): Promise<Ending> {
  return new Promise((resolve) => {
    const events: string[] = [];
    let code: number | null = null;
    let signal: NodeJS.Signals | null = null;
    child.on('exit', (exitCode, exitSignal) => {
      events.push('exit');
      code = exitCode;
      signal = exitSignal;
    });
    child.on('close', () => {
      events.push('close');
      resolve({ events, code, signal });
    });
    child.on('error', (error) => {
      events.push('error');
      resolve({ events, code, signal, error });
    });
  });
}

let work: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'polythene-spawn-'));
});
afterEach(() => {
  rmSync(work, { recursive: true, force: true });
});

const sh = (script: string, stdio: BackendSpawnOptions['stdio']): BackendSpawnOptions => ({
  file: '/bin/sh',
  args: ['-c', script],
  env: { PATH: '/usr/bin:/bin' },
  stdio,
});

/** Everything the child writes to its stdout and stderr pipes. */
function collectOutput(child: SupervisedChild): { stdout: string; stderr: string } {
  const output = { stdout: '', stderr: '' };
  child.stdout?.on('data', (chunk) => {
    output.stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk) => {
    output.stderr += chunk.toString();
  });
  return output;
}

// Every way of spawning must behave alike: fds only and output pipes (libuv's process and
// pipe handles), and a pipe for stdin too (node:child_process).
describe.each([
  ['fds only', [0, 1, 2]],
  ['output pipes', [0, 'pipe', 'pipe']],
  ['pipes', ['pipe', 'pipe', 'pipe']],
] as const)('spawnBackendProcess (%s)', (label, stdio) => {
  it('goes through node:child_process only when stdin is a pipe', async () => {
    const child = spawnBackendProcess(sh('exit 0', [...stdio]));
    expect(child instanceof ChildProcess).toBe(label === 'pipes');
    await ending(child);
  });

  it('reports the exit status, then close', async () => {
    const result = await ending(spawnBackendProcess(sh('exit 3', [...stdio])));
    expect(result).toEqual({ events: ['exit', 'close'], code: 3, signal: null });
  });

  it('reports the signal that ended it', async () => {
    const result = await ending(spawnBackendProcess(sh('kill -TERM $$', [...stdio])));
    expect(result).toMatchObject({ events: ['exit', 'close'], code: null, signal: 'SIGTERM' });
  });

  it('reports a binary that cannot start as an asynchronous ENOENT error, with no pid', async () => {
    const child = spawnBackendProcess({ ...sh('', [...stdio]), file: join(work, 'missing') });
    expect(child.pid).toBeUndefined();
    const result = await ending(child);
    expect(result.events).toEqual(['error']);
    expect(result.error?.code).toBe('ENOENT');
  });

  it('gives exactly the environment, cwd /, its own session and group, and the fds asked for', async () => {
    const reportPath = join(work, 'report');
    const report = openSync(reportPath, 'w');
    try {
      const child = spawnBackendProcess({
        file: '/bin/sh',
        args: [
          '-c',
          // Fields 5 and 6 of /proc/PID/stat: process group and session.
          'set -- $(cat /proc/$$/stat); echo "$$ $5 $6 $(pwd)" >&3; env >&3',
        ],
        env: { PATH: '/usr/bin:/bin', ONLY_THIS: 'yes' },
        stdio: [...stdio, report],
      });
      const result = await ending(child);
      expect(result.code).toBe(0);
      const [ids = '', ...environment] = readFileSync(reportPath, 'utf8').trim().split('\n');
      const [pid, group, session, cwd] = ids.split(' ');
      expect(Number(pid)).toBe(child.pid);
      expect(group).toBe(pid);
      expect(session).toBe(pid);
      expect(cwd).toBe('/');
      // sh adds PWD (and may add SHLVL) itself; nothing of polythene's own environment leaks.
      expect(environment.filter((line) => !/^(PWD|SHLVL|_)=/.test(line)).sort()).toEqual([
        'ONLY_THIS=yes',
        'PATH=/usr/bin:/bin',
      ]);
    } finally {
      closeSync(report);
    }
  });

  it('refuses a NUL byte in an argument instead of cutting it short', () => {
    expect(() => spawnBackendProcess(sh('exit 0\0; echo cut', [...stdio]))).toThrow(/NUL|null/);
  });
});

describe.each([
  ['output pipes', [0, 'pipe', 'pipe']],
  ['pipes', ['pipe', 'pipe', 'pipe']],
] as const)('spawnBackendProcess (%s)', (_label, stdio) => {
  it('delivers every byte written to stdout and stderr before close, even past a pipe buffer', async () => {
    // 200 000 bytes on stderr: more than a pipe holds, so the child blocks until we read.
    const child = spawnBackendProcess(
      sh('echo out; head -c 200000 /dev/zero | tr "\\0" x >&2; echo err >&2', [...stdio]),
    );
    child.stdin?.end();
    const output = collectOutput(child);
    const result = await ending(child);
    expect(result).toEqual({ events: ['exit', 'close'], code: 0, signal: null });
    expect(output.stdout).toBe('out\n');
    expect(output.stderr).toBe(`${'x'.repeat(200_000)}err\n`);
  });

  it('closes once the pipes end, after the exit, when a process it left holds them a while', async () => {
    const child = spawnBackendProcess(sh('(sleep 0.3; echo late >&2) & exit 0', [...stdio]));
    child.stdin?.end();
    const output = collectOutput(child);
    const result = await ending(child);
    expect(result.events).toEqual(['exit', 'close']);
    expect(output.stderr).toBe('late\n');
  });

  it('stops reading when destroyed: close follows', async () => {
    const child = spawnBackendProcess(sh('exec sleep 0.2 >&2', [...stdio]));
    child.stdin?.end();
    for (const stream of child.stdio) stream?.destroy();
    const result = await ending(child);
    expect(result.events).toEqual(['exit', 'close']);
  });
});
