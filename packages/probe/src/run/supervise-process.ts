import { accessSync, constants } from 'node:fs';
import { isPolytheneError, PolytheneError } from '@polythene/errors';
import { holdNonDumpable } from '@polythene/native';
import type { RunResult } from '../backend.ts';
import { wrapWithExecGuard } from './exec-guard.ts';
import { forwardSignals } from './forward-signals.ts';
import { createTreeKiller } from './kill-supervised-tree.ts';
import { killProcessTree } from './proc-tree.ts';
import { type SupervisedChild, spawnBackendProcess } from './spawn-backend-process.ts';
import type { CommandOutcome, SuperviseOptions } from './supervise-options.ts';
import { createSupervisedPids } from './supervised-pids.ts';
import type { SupervisedRunState } from './supervised-run-state.ts';
import { createSupervisedStdio } from './supervised-stdio.ts';
import { watchLeftovers } from './watch-leftovers.ts';

export type {
  BackendExit,
  CommandOutcome,
  RunControls,
  SuperviseOptions,
} from './supervise-options.ts';
export { DEFAULT_MAX_OUTPUT_BYTES } from './supervised-stdio.ts';

const streamDrainTimeoutMs = 2_000;

/**
 * Spawns a backend process and supervises the command it runs: exactly the given
 * environment, stdio inherited or captured (bounded), input fed to stdin, a timeout that
 * kills the whole tree, SIGINT/SIGTERM/SIGHUP (and `abortSignal`) forwarded to the command
 * itself with the tree killed `killGraceMs` later. Resolves when the backend has exited; the
 * backend's `interpretExit` decides the command's status or throws a set-up failure.
 */
// The composer: each concern is its own module (stdio and the notice filter, the pids below
// the spawned process, the tree kill, signal forwarding, the leftover watcher); this spawns,
// starts the timeout and turns the exit into the result.
export function superviseProcess(options: SuperviseOptions): Promise<RunResult> {
  const { controls } = options;
  if (controls.abortSignal?.aborted) {
    return Promise.reject(
      new PolytheneError(
        'POLYTHENE_INTERRUPTED',
        `${options.backend}: the run was aborted before the command started`,
      ),
    );
  }
  return new Promise<RunResult>((resolve, reject) => {
    const io = createSupervisedStdio(options);
    const startedAt = monotonicMs();
    let child: SupervisedChild | undefined;
    let isEnded = false;
    let timedOut = false;
    let timeoutTimer: NodeJS.Timeout | undefined;
    let drainTimer: NodeJS.Timeout | undefined;
    let stopLeftoverWatch: (() => void) | undefined;
    let exitStatus: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let exitedAt = 0;
    let releaseHidden: (() => void) | undefined;

    const state: SupervisedRunState = { spawnedPid: () => child?.pid, isEnded: () => isEnded };
    const pids = createSupervisedPids(options);
    const killer = createTreeKiller(options, pids, state);
    // Installed before the spawn: a signal that arrives as soon as the command runs (a busy
    // machine may pause us right after the fork) is forwarded, never left to kill polythene.
    const stopForwarding = forwardSignals(controls, options, pids, state, killer.killAll);

    const cleanUp = (): void => {
      isEnded = true;
      stopForwarding();
      killer.stop();
      stopLeftoverWatch?.();
      clearTimeout(timeoutTimer);
      clearTimeout(drainTimer);
      // Only now: until the backend process has exited, something of the command may run.
      releaseHidden?.();
    };

    try {
      // Own session and process group: terminal signals reach polythene only, which forwards
      // them to the command; the group lets the tree be killed; no TIOCSTI into our terminal.
      // The guard would start a missing binary only to fail with 125: refuse it here instead.
      accessSync(options.file, constants.X_OK);
      // Before the spawn: the command must never find this process readable.
      if (options.hideSupervisor) releaseHidden = holdNonDumpable();
      const guarded = wrapWithExecGuard(
        options.file,
        options.args,
        options.extraStdio?.length ?? 0,
        options.guard,
      );
      // The terminal relay stays outside the guard: it holds the user's terminal on the host
      // and restores it however the run ends, while the guard still closes every inherited
      // fd (the relay's own included) before the backend starts.
      const spawned =
        options.relay === undefined
          ? guarded
          : {
              file: options.relay.file,
              args: [...options.relay.args, '--', guarded.file, ...guarded.args],
            };
      controls.spawnHooks?.before();
      try {
        child = spawnBackendProcess({
          file: spawned.file,
          args: spawned.args,
          env: options.env,
          stdio: io.stdio,
        });
      } finally {
        controls.spawnHooks?.after();
      }
    } catch (error) {
      cleanUp();
      // A missing exec guard says itself which guarantee it costs.
      reject(isPolytheneError(error) ? error : setupFailed(options, error));
      return;
    } finally {
      // The child has its own copy now (or never started).
      io.closeEmptyStdin();
    }

    child.on('error', (error) => {
      if (isEnded) return;
      cleanUp();
      if (child.pid !== undefined) killProcessTree(child.pid);
      reject(setupFailed(options, error));
    });
    child.on('exit', (code, signal) => {
      exitStatus = { code, signal };
      exitedAt = monotonicMs();
      stopLeftoverWatch?.();
      // Normally the streams close right after; a process that escaped the tree could hold
      // them open forever, so stop waiting for them after a while. Without streams (inherited
      // stdio) 'close' follows at once: no timer.
      if (child.stdio.some((stream) => stream !== null && stream !== undefined)) {
        drainTimer = setTimeout(() => {
          for (const stream of child.stdio) stream?.destroy();
          finish();
        }, streamDrainTimeoutMs);
      }
    });
    child.on('close', () => finish());

    const finish = (): void => {
      if (isEnded || exitStatus === undefined) return;
      cleanUp();
      let outcome: CommandOutcome;
      try {
        outcome = options.interpretExit({
          code: exitStatus.code,
          signal: exitStatus.signal,
          killedBySupervisor: killer.hasKilled(),
          timedOut,
          stderr: io.backendStderr(),
        });
      } catch (error) {
        reject(error);
        return;
      }
      const base = {
        exitCode: outcome.exitCode,
        signal: outcome.signal,
        timedOut,
        durationMs: Math.round(exitedAt - startedAt),
        backend: options.backend,
      };
      const captured = io.captured(outcome.stderr);
      resolve(captured === undefined ? base : { ...base, ...captured });
    };

    if (child.pid === undefined) return; // 'error' follows.
    io.attach(child);

    if (controls.timeoutMs !== undefined) {
      timeoutTimer = setTimeout(() => {
        timedOut = true;
        killer.killAll();
      }, controls.timeoutMs);
    }

    if (options.killLeftoversWhenCommandEnds) {
      stopLeftoverWatch = watchLeftovers(
        pids,
        child.pid,
        startedAt,
        () => isEnded || exitStatus !== undefined,
        monotonicMs,
      );
    }
  });
}

// `performance.now()` would load perf_hooks, a cost every exec would pay for two timestamps.
function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

function setupFailed(options: SuperviseOptions, error: unknown): PolytheneError {
  const reason = error instanceof Error ? error.message : String(error);
  return new PolytheneError(
    'POLYTHENE_SETUP_FAILED',
    `${options.backend}: could not start ${options.file}: ${reason}; check that it is installed and executable`,
    { cause: error },
  );
}
