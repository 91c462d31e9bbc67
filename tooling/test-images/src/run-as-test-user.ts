import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { ensureTestUser } from './ensure-test-user.ts';
import type { RunAsTestUserOptions, RunAsTestUserResult } from './fixture-types.ts';
import { testUserEnv } from './test-user-env.ts';

/** Runs its arguments where no new user namespace can be created (see the script). */
export const REFUSE_USER_NAMESPACES_SCRIPT: string = fileURLToPath(
  new URL('./refuse-user-namespaces.sh', import.meta.url),
);

/**
 * Runs `argv` as the unprivileged test user (`runuser -u polythene-test -- …`, creating the user
 * first via {@link ensureTestUser}, so root only) with a clean environment: {@link testUserEnv}
 * plus `options.env`. Resolves the exit code (128+n for signal n) and the output; with `reject`
 * (default `true`, as execa) a failure throws an error naming the command and its stderr.
 */
export async function runAsTestUser(
  argv: string[],
  options: RunAsTestUserOptions = {},
): Promise<RunAsTestUserResult> {
  if (argv.length === 0) throw new Error('runAsTestUser needs a command: pass a non-empty argv');
  const user = await ensureTestUser();
  const env = { ...testUserEnv(user), ...options.env };
  // runuser without --login keeps the environment it is given (it only sets HOME, SHELL, USER,
  // LOGNAME), and execa gives it exactly `env`.
  const wrapped = options.refuseUserNamespaces ? [REFUSE_USER_NAMESPACES_SCRIPT, ...argv] : argv;
  const result = await execa('runuser', ['-u', user.name, '--', ...wrapped], {
    env,
    extendEnv: false,
    cwd: options.cwd ?? user.home,
    ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
    ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
    reject: false,
  });
  const signal = result.signal ?? undefined;
  const exitCode =
    result.exitCode ??
    (signal ? 128 + (constants.signals[signal as keyof typeof constants.signals] ?? 0) : 1);
  if (result.failed && (options.reject ?? true)) {
    const reason = result.timedOut ? `timed out after ${options.timeoutMs} ms` : `exit ${exitCode}`;
    throw new Error(
      `command as ${user.name} failed (${reason}): ${argv.join(' ')}: ${result.stderr.trim().split('\n').slice(-5).join(' | ')}`,
      { cause: result },
    );
  }
  return {
    exitCode,
    stdout: result.stdout,
    stderr: result.stderr,
    ...(signal ? { signal } : {}),
  };
}
