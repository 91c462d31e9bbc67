import { isPolytheneError, PolytheneError } from '@polythene/errors';
import { execa } from 'execa';
import { pickUsefulLine } from './pick-useful-line.ts';

/** What every podman call of one export shares. */
export interface PodmanContext {
  /** The complete environment podman runs with. */
  env: Record<string, string>;
  /** Aborted on timeout or interruption; its reason is the PolytheneError to throw. */
  signal?: AbortSignal;
  /** Verbose log sink. */
  log: (line: string) => void;
  /** Prefix the command with `podman unshare` (rootless access to storage mounts). */
  useUnshare?: boolean;
}

/** A failed podman call, kept as data so callers can decide what it means. */
export interface PodmanFailure {
  /** podman's most useful stderr line, or a description of how it ended. */
  line: string;
  exitCode: number | undefined;
}

/** The message for podman missing from PATH. */
export const podmanMissingMessage: string =
  'podman is not installed or not on PATH; install the Debian package podman (apt-get install podman)';

/**
 * Runs `podman ARGS` to completion and returns its stdout, or the failure as data.
 * @throws PolytheneError `POLYTHENE_PODMAN_MISSING` when podman cannot be started, or the
 * abort reason when the context's signal fires.
 */
export async function tryPodman(
  args: readonly string[],
  context: PodmanContext,
): Promise<{ stdout: string } | PodmanFailure> {
  const [file, argv] = context.useUnshare
    ? ['podman', ['unshare', 'podman', ...args]]
    : ['podman', [...args]];
  context.log(`${file} ${argv.join(' ')}`);
  const result = await execa(file, argv, {
    env: context.env,
    extendEnv: false,
    stdin: 'ignore',
    reject: false,
    forceKillAfterDelay: 3000,
    ...(context.signal ? { cancelSignal: context.signal } : {}),
  });
  throwIfAborted(context.signal);
  if (result.failed) {
    throwIfMissing(result);
    return {
      line:
        pickUsefulLine(String(result.stderr ?? '')) ??
        result.shortMessage ??
        `exit status ${result.exitCode}`,
      exitCode: result.exitCode,
    };
  }
  return { stdout: String(result.stdout ?? '') };
}

/**
 * Runs `podman ARGS` and returns its stdout.
 * @throws PolytheneError `POLYTHENE_PULL_FAILED` naming `what` and podman's stderr line.
 */
export async function runPodman(
  args: readonly string[],
  what: string,
  context: PodmanContext,
): Promise<string> {
  const result = await tryPodman(args, context);
  if ('line' in result) {
    throw new PolytheneError(
      'POLYTHENE_PULL_FAILED',
      `${what} failed: ${result.line}${adviceFor(result.line)}`,
    );
  }
  return result.stdout;
}

/** What to do about the failures users meet most, appended to podman's own words. */
function adviceFor(line: string): string {
  if (/unauthorized|authentication required|denied/i.test(line)) {
    return '; log in first (podman login REGISTRY) or check the image name';
  }
  if (/connection refused|no such host|i\/o timeout|network is unreachable/i.test(line)) {
    return '; check that the registry is reachable, or pull a local image (--pull never)';
  }
  return '';
}

/** Throws the signal's reason (a PolytheneError) when it has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw isPolytheneError(signal.reason)
      ? signal.reason
      : new PolytheneError('POLYTHENE_INTERRUPTED', 'the pull was interrupted', {
          cause: signal.reason,
        });
  }
}

/** Throws `POLYTHENE_PODMAN_MISSING` for an execa result whose spawn failed with ENOENT. */
export function throwIfMissing(result: { code?: unknown; cause?: unknown }): void {
  const code = result.code ?? (result.cause as { code?: unknown } | undefined)?.code;
  if (code === 'ENOENT') {
    throw new PolytheneError('POLYTHENE_PODMAN_MISSING', podmanMissingMessage, {
      cause: result.cause,
    });
  }
}
