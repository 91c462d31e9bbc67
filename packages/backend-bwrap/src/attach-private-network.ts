import { PolytheneError } from '@polythene/errors';
import {
  findExecutable,
  type PrivateNetwork,
  type RunNetwork,
  readProcStat,
  startPrivateNetwork,
} from '@polythene/probe';

/** What {@link attachPrivateNetwork} needs from the run. */
export interface AttachOptions {
  readonly network: RunNetwork;
  /** The sandbox's init pid from bwrap's status, once it has written it. */
  readonly readChildPid: () => number | undefined;
  /** True once the run has ended (bwrap failed before its sandbox existed). */
  readonly hasEnded: () => boolean;
  /** Lets the blocked sandbox start the command (bwrap's `--block-fd`). */
  readonly release: () => void;
  /** True when polythene is not root: slirp4netns must join the box's user namespace. */
  readonly isUnprivileged: boolean;
}

const pollMs = 2;
const childPidTimeoutMs = 15_000;

/** Where slirp4netns is, or a set-up failure naming the package. */
export function findSlirp(): string {
  const path = findExecutable('slirp4netns', process.env);
  if (path === undefined) {
    throw new PolytheneError(
      'POLYTHENE_SETUP_FAILED',
      'bwrap: --network private needs slirp4netns, not found on PATH (install the slirp4netns package)',
    );
  }
  return path;
}

/**
 * Waits for bwrap's sandbox, starts slirp4netns on the network namespace the sandbox was
 * started in (that of bwrap's own process, the sandbox init's parent: its user namespace
 * owns that network namespace, which the init's nested one does not), publishes the ports,
 * then releases the sandbox. Resolves undefined when the run ended first.
 */
export async function attachPrivateNetwork(
  slirpPath: string,
  options: AttachOptions,
): Promise<PrivateNetwork | undefined> {
  const startedAt = Date.now();
  let childPid: number | undefined;
  for (;;) {
    if (options.hasEnded()) return undefined;
    childPid = options.readChildPid();
    if (childPid !== undefined) break;
    if (Date.now() - startedAt > childPidTimeoutMs) {
      throw new PolytheneError(
        'POLYTHENE_SETUP_FAILED',
        `bwrap: --network private: the sandbox did not start within ${childPidTimeoutMs / 1000} s`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  const parentPid = readProcStat(childPid)?.ppid;
  if (parentPid === undefined || options.hasEnded()) return undefined;
  const network = await startPrivateNetwork({
    slirpPath,
    pid: parentPid,
    joinUserNamespace: options.isUnprivileged,
    publish: options.network.publish,
    backend: 'bwrap',
  });
  if (options.hasEnded()) {
    network.stop();
    return undefined;
  }
  options.release();
  return network;
}
