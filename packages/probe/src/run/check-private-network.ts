import { checkTunAccess } from './check-tun-access.ts';
import { findExecutable } from './find-executable.ts';

/** Whether `--network private` can be set up here: slirp4netns's path, or why not (one line). */
export type PrivateNetworkCheck =
  | { readonly available: true; readonly slirpPath: string }
  | { readonly available: false; readonly reason: string };

/**
 * Checks what a private network needs on this host, without starting anything: slirp4netns on
 * the `PATH` of `hostEnv`, and, for an unprivileged user (slirp4netns then opens the tun device
 * with that user's rights), a `/dev/net/tun` it can open (see {@link checkTunAccess}). Runs
 * ({@link findSlirp}) and `polythene backends` use this one check, so both agree.
 */
export function checkPrivateNetwork(
  hostEnv: Readonly<Record<string, string | undefined>>,
  isUnprivileged: boolean,
): PrivateNetworkCheck {
  const slirpPath = findExecutable('slirp4netns', hostEnv);
  if (slirpPath === undefined) {
    return {
      available: false,
      reason: 'slirp4netns is not on PATH (install the slirp4netns package)',
    };
  }
  const tunProblem = isUnprivileged ? checkTunAccess() : undefined;
  return tunProblem === undefined
    ? { available: true, slirpPath }
    : { available: false, reason: tunProblem };
}
