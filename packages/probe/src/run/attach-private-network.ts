import { PolytheneError } from '@polythene/errors';
import type { RunNetwork } from '../backend.ts';
import { checkPrivateNetwork } from './check-private-network.ts';
import { type PrivateNetwork, startPrivateNetwork } from './private-network.ts';

/** What {@link attachPrivateNetwork} needs from a run whose box waits to be released. */
export interface PrivateNetworkAttachOptions {
  /** Backend name, for messages. */
  readonly backend: string;
  readonly network: RunNetwork;
  /**
   * The host pid of a process in the box's network namespace (unprivileged: also in the
   * user namespace that owns it), once the box has made it; undefined until then.
   */
  readonly readNetnsPid: () => number | undefined;
  /** True once the run has ended (the backend failed before its box existed). */
  readonly hasEnded: () => boolean;
  /** Lets the blocked box start the command. */
  readonly release: () => void;
  /** True when polythene is not root: slirp4netns must join the box's user namespace. */
  readonly isUnprivileged: boolean;
}

const pollMs = 2;
const netnsTimeoutMs = 15_000;

/**
 * Where slirp4netns is, or a set-up failure naming the package; unprivileged, also one when
 * this user cannot open `/dev/net/tun` (see {@link checkTunAccess}), before any box starts.
 */
export function findSlirp(backend: string, isUnprivileged = false): string {
  const check = checkPrivateNetwork(process.env, isUnprivileged);
  if (!check.available) {
    throw new PolytheneError(
      'POLYTHENE_SETUP_FAILED',
      `${backend}: --network private: ${check.reason}`,
    );
  }
  return check.slirpPath;
}

/**
 * Waits for the box's network namespace, starts slirp4netns on it, publishes the ports, then
 * releases the box. Resolves undefined when the run ended first; throws
 * `POLYTHENE_SETUP_FAILED` (one line) when the network could not be set up.
 */
export async function attachPrivateNetwork(
  slirpPath: string,
  options: PrivateNetworkAttachOptions,
): Promise<PrivateNetwork | undefined> {
  const startedAt = Date.now();
  let pid: number | undefined;
  for (;;) {
    if (options.hasEnded()) return undefined;
    pid = options.readNetnsPid();
    if (pid !== undefined) break;
    if (Date.now() - startedAt > netnsTimeoutMs) {
      throw new PolytheneError(
        'POLYTHENE_SETUP_FAILED',
        `${options.backend}: --network private: the box did not start within ${netnsTimeoutMs / 1000} s`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  const network = await startPrivateNetwork({
    slirpPath,
    pid,
    joinUserNamespace: options.isUnprivileged,
    publish: options.network.publish,
    backend: options.backend,
  });
  if (options.hasEnded()) {
    network.stop();
    return undefined;
  }
  options.release();
  return network;
}
