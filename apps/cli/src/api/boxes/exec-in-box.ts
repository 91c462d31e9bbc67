import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { boxLogPath } from '@polythene/core/internal/boxes/box-state';
import { DEFAULT_KILL_GRACE_MS } from '@polythene/core/internal/exec/exec';
import { type Logger, silentLogger } from '@polythene/core/internal/logger';
import { PolytheneError } from '@polythene/errors';
import {
  DEFAULT_MAX_OUTPUT_BYTES,
  type RunResult,
  type SpawnHooks,
  superviseProcess,
} from '@polythene/probe';
import {
  type BoxCommandOptions,
  guardedCommandLine,
  prepareBoxCommand,
} from './prepare-box-command.ts';

/** Options for {@link execInBox}. */
export interface ExecInBoxOptions extends BoxCommandOptions {
  /** Kill the command after this many milliseconds (never with `detach`). */
  readonly timeoutMs?: number;
  /** `inherit` passes stdio through; `pipe` captures output and feeds `input`. */
  readonly stdio?: 'inherit' | 'pipe';
  /** stdin for `pipe` mode. */
  readonly input?: string | Uint8Array;
  /** Cap on captured stdout and on captured stderr, in bytes (`pipe` mode). */
  readonly maxOutputBytes?: number;
  /** Forward SIGINT/SIGTERM/SIGHUP received by this process to the command (the CLI does). */
  readonly forwardSignals?: boolean;
  /** Aborting ends the command as SIGTERM would. */
  readonly abortSignal?: AbortSignal;
  /** Grace period between a forwarded signal and killing the command's tree. */
  readonly killGraceMs?: number;
  /** Verbose and warning lines; silent by default. */
  readonly logger?: Logger;
}

/** How a command in a box ended (for `detach`: that it started). */
export interface ExecInBoxResult extends RunResult {
  /** The box's id. */
  readonly box: string;
}

/**
 * Runs a command inside a running box: its pid, net, ipc, uts and mount namespaces, its
 * root and binds, as the box's user: root with the container capability set (in the box's own
 * user namespace; none where the box has none), any other user with none. A service one command started is
 * reachable from the next on the box's loopback. With `detach` it resolves once the command
 * runs, its output going to the box's log. An unknown or stopped box is a
 * `POLYTHENE_BOX_NOT_FOUND` (exit 1).
 */
export async function execInBox(options: ExecInBoxOptions): Promise<ExecInBoxResult> {
  const logger = options.logger ?? silentLogger;
  const prepared = await prepareBoxCommand(options);
  const { record, holder, helper, args, env, storeDir } = prepared;
  logger.verbose(
    `entering box ${record.id} (holder ${holder.pid}) as ${prepared.uid}:${prepared.gid} in ${prepared.cwd}`,
  );
  const started = Date.now();
  if (options.detach === true) {
    const code = await runDetached(
      helper,
      args,
      env,
      boxLogPath(storeDir, record.id),
      prepared.spawnHooks,
    );
    if (code === 125) {
      throw new PolytheneError(
        'POLYTHENE_SETUP_FAILED',
        `could not start the command in box ${options.box} (see polythene logs ${options.box})`,
      );
    }
    return {
      box: record.id,
      exitCode: code,
      signal: null,
      timedOut: false,
      durationMs: Date.now() - started,
      backend: holder.backend,
    };
  }
  const result = await superviseProcess({
    backend: holder.backend,
    file: helper,
    args,
    env,
    controls: {
      stdio: options.stdio ?? 'inherit',
      input: options.input,
      maxOutputBytes: options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES,
      timeoutMs: options.timeoutMs,
      killGraceMs: options.killGraceMs ?? DEFAULT_KILL_GRACE_MS,
      forwardSignals: options.forwardSignals ?? false,
      abortSignal: options.abortSignal,
      spawnHooks: prepared.spawnHooks,
    },
    interpretExit: (exit) => {
      if (exit.code === 125) {
        const line = new TextDecoder()
          .decode(exit.stderr ?? new Uint8Array())
          .split('\n')
          .filter((text) => text.startsWith('polythene-box: '))
          .at(-1);
        throw new PolytheneError(
          'POLYTHENE_SETUP_FAILED',
          line === undefined
            ? `could not enter box ${options.box}`
            : line.slice('polythene-box: '.length),
        );
      }
      return { exitCode: exit.code, signal: exit.signal };
    },
  });
  return { ...result, box: record.id };
}

// Detached: the helper starts the command with the log as its stdout and stderr, then exits.
async function runDetached(
  helper: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  logPath: string,
  spawnHooks: SpawnHooks | undefined,
): Promise<number> {
  const line = guardedCommandLine(helper, args);
  const log = openSync(logPath, 'a', 0o600);
  try {
    spawnHooks?.before();
    let child: ChildProcess;
    try {
      child = spawn(line.file, line.args, { stdio: ['ignore', log, log], env: { ...env } });
    } finally {
      spawnHooks?.after();
    }
    return await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (code) => resolve(code ?? 125));
    });
  } finally {
    closeSync(log);
  }
}
