import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { touchLastUsed } from '@polythene/core/internal/boxes/box-state';
import {
  type BoxCommandOptions,
  guardedCommandLine,
  prepareBoxCommand,
} from './prepare-box-command.ts';

/** A command started in a running box that the caller watches (the testkit's `box.spawn`). */
export interface BoxProcess {
  /** Host pid of the helper that entered the box (the command is its child). */
  readonly pid: number;
  /** The command's stdin. */
  readonly stdin: Writable;
  /** The command's stdout and stderr, as they come. */
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Settles when the command has ended: its exit code, or the signal that ended it. */
  readonly exit: Promise<{ exitCode: number | null; signal: NodeJS.Signals | null }>;
  /** Sends `signal` (default SIGTERM) to the command's session. */
  kill(signal?: NodeJS.Signals): void;
}

/**
 * Starts a command inside a running box with piped stdio and returns at once. The helper
 * forwards SIGINT, SIGTERM, SIGHUP and SIGQUIT to the command's session; the command dies
 * with the helper (SIGKILL of the helper kills it).
 */
export async function spawnInBox(options: BoxCommandOptions): Promise<BoxProcess> {
  const prepared = await prepareBoxCommand({ ...options, detach: false });
  const line = guardedCommandLine(prepared.helper, prepared.args);
  const child = spawn(line.file, line.args, {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...prepared.env },
  });
  const exit = new Promise<{ exitCode: number | null; signal: NodeJS.Signals | null }>(
    (resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (exitCode, signal) => {
        void touchLastUsed(prepared.storeDir, prepared.record.id);
        resolve({ exitCode, signal });
      });
    },
  );
  return {
    pid: child.pid ?? -1,
    stdin: child.stdin,
    stdout: child.stdout,
    stderr: child.stderr,
    exit,
    kill: (signal = 'SIGTERM') => {
      child.kill(signal);
    },
  };
}
