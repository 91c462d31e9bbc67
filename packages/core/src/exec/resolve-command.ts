import { statSync } from 'node:fs';
import { posix } from 'node:path';
import { PolytheneError } from '@polythene/errors';
import { assertCommandGiven } from '@polythene/probe';
import type { ResolveInRoot } from './root-view.ts';

/** The form of an exec, named by the error for a missing command. */
export const EXEC_USAGE = 'polythene exec UUID -- CMD [ARG…]';

/**
 * Finds `command` inside the rootfs the way execvp would inside it: a name with a slash is
 * taken relative to `cwd`, a bare name is searched on the command's own PATH. Returns the
 * absolute path inside the rootfs. Checking here, before any sandbox starts, lets a missing
 * command exit 127 on every backend, and costs a few stat calls.
 */
export async function resolveCommandInRootfs(
  resolveInRoot: ResolveInRoot,
  command: string,
  options: { readonly path: string; readonly cwd: string },
): Promise<string> {
  assertCommandGiven([command], EXEC_USAGE);
  const candidates = command.includes('/')
    ? [posix.resolve(options.cwd, command)]
    : options.path
        .split(':')
        .filter((dir) => dir.startsWith('/'))
        .map((dir) => posix.join(dir, command));
  for (const candidate of candidates) {
    if (await isExecutableInRootfs(resolveInRoot, candidate)) return candidate;
  }
  throw new PolytheneError(
    'POLYTHENE_COMMAND_NOT_FOUND',
    command.includes('/')
      ? `${command}: no such executable in the rootfs`
      : `${command}: command not found in the rootfs (PATH=${options.path})`,
  );
}

async function isExecutableInRootfs(
  resolveInRoot: ResolveInRoot,
  pathInside: string,
): Promise<boolean> {
  try {
    const hostPath = await resolveInRoot(pathInside);
    if (hostPath === undefined) return false;
    // Synchronous: a PATH search is a few stat calls on every exec.
    const info = statSync(hostPath);
    // Any execute bit: the sandbox's own user decides the rest, as execve would.
    return info.isFile() && (info.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}
