import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { PolytheneError } from '@polythene/errors';
import { requireNativeHelper } from '@polythene/native';
import { type RunResult, superviseProcess } from '@polythene/probe';
import { type Logger, silentLogger } from '../../logger.ts';
import { buildCommandEnvironment } from '../exec/command-environment.ts';
import { DEFAULT_KILL_GRACE_MS, DEFAULT_MAX_OUTPUT_BYTES } from '../exec/exec.ts';
import { createRootResolver } from '../exec/root-view.ts';
import { resolveRootfsUser } from '../exec/rootfs-user.ts';
import { openStoreFromOptions, type StoreOptions } from '../store-options.ts';
import { BOX_HELPER } from './box-keeper.ts';
import { boxLogPath, findBox, touchLastUsed } from './box-state.ts';

/** Options for {@link execInBox}. */
export interface ExecInBoxOptions extends StoreOptions {
  /** The running box: its id or name. */
  readonly box: string;
  /** The command as an argv, looked up on the box's PATH; no shell is involved. */
  readonly command: readonly string[];
  /** Start it in the background, its output appended to the box's log; resolves at once. */
  readonly detach?: boolean;
  /** `KEY=VALUE` or `KEY`, over the image's and the box's. */
  readonly env?: readonly string[];
  /** Working directory in the box; default the box's, else the image's, else `/`. */
  readonly workdir?: string;
  /** `USER[:GROUP]`; default the box's. A user namespace maps only the box's own user. */
  readonly user?: string;
  /** Kill the command after this many milliseconds (never with `detach`). */
  readonly timeoutMs?: number;
  readonly stdio?: 'inherit' | 'pipe';
  readonly input?: string | Uint8Array;
  readonly maxOutputBytes?: number;
  readonly forwardSignals?: boolean;
  readonly abortSignal?: AbortSignal;
  readonly killGraceMs?: number;
  readonly logger?: Logger;
}

/** How a command in a box ended (for `detach`: that it started). */
export interface ExecInBoxResult extends RunResult {
  /** The box's id. */
  readonly box: string;
}

/**
 * Runs a command inside a running box: its pid, net, ipc, uts and mount namespaces, its
 * root and binds, as the box's user with no capabilities. A service one command started is
 * reachable from the next on the box's loopback. An unknown or stopped box is a
 * `POLYTHENE_BOX_NOT_FOUND` (exit 1).
 */
export async function execInBox(options: ExecInBoxOptions): Promise<ExecInBoxResult> {
  const logger = options.logger ?? silentLogger;
  if (options.command.length === 0) {
    throw new PolytheneError('POLYTHENE_USAGE', 'no command given: polythene exec --in BOX -- CMD [ARG…]');
  }
  const store = await openStoreFromOptions(options, false);
  const box = await findBox(store.dir, options.box);
  const { holder, record } = box;
  if (holder === undefined || box.state !== 'running') {
    throw new PolytheneError('POLYTHENE_BOX_NOT_FOUND', `box ${options.box} is still starting`);
  }
  const { metadata } = await store.entryLayersAndMetadata(record.entry);
  const config = metadata?.config ?? { env: [] };
  // The box as its processes see it: its own root, read through the holder's.
  const resolveInRoot = createRootResolver([`/proc/${holder.pid}/root`]);
  const userSpec = options.user ?? record.user ?? emptyToUndefined(config.user);
  const user = await resolveRootfsUser(resolveInRoot, userSpec);
  const hostEnv = options.hostEnv ?? process.env;
  const env = buildCommandEnvironment({
    imageEnv: config.env,
    envFlags: [...(record.env ?? []), ...(options.env ?? [])],
    hostEnv,
    home: user.home,
    userName: user.name,
  });
  const cwd = options.workdir ?? record.workdir ?? emptyToUndefined(config.workingDir) ?? '/';
  if (!cwd.startsWith('/')) {
    throw new PolytheneError('POLYTHENE_USAGE', `--workdir ${cwd}: must be an absolute path inside the box`);
  }
  const helper = requireNativeHelper(BOX_HELPER, 'entering a running box (exec --in)');
  const args = [
    'enter',
    '--pid',
    String(holder.pid),
    '--start-time',
    String(holder.startTime),
    '--uid',
    String(user.uid),
    '--gid',
    String(user.gid),
    '--cwd',
    cwd,
    ...(options.detach === true ? ['--detach'] : []),
    '--',
    ...options.command,
  ];
  await touchLastUsed(store.dir, record.id);
  logger.verbose(`entering box ${record.id} (holder ${holder.pid}) as ${user.uid}:${user.gid} in ${cwd}`);
  const started = Date.now();
  if (options.detach === true) {
    const code = await runDetached(helper, args, env, boxLogPath(store.dir, record.id));
    if (code === 125) {
      throw new PolytheneError('POLYTHENE_SETUP_FAILED', `could not start the command in box ${options.box} (see its log)`);
    }
    return { box: record.id, exitCode: code, signal: null, timedOut: false, durationMs: Date.now() - started, backend: holder.backend };
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
          line === undefined ? `could not enter box ${options.box}` : line.slice('polythene-box: '.length),
        );
      }
      return { exitCode: exit.code, signal: exit.signal };
    },
  });
  await touchLastUsed(store.dir, record.id);
  return { ...result, box: record.id };
}

// Detached: the helper starts the command with the log as its stdout and stderr, then exits.
async function runDetached(
  helper: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  logPath: string,
): Promise<number> {
  const log = openSync(logPath, 'a', 0o600);
  try {
    const child = spawn(helper, args, { stdio: ['ignore', log, log], env: { ...env } });
    return await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (code) => resolve(code ?? 125));
    });
  } finally {
    closeSync(log);
  }
}

function emptyToUndefined(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
