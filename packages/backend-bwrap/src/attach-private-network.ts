import {
  attachPrivateNetwork as attach,
  findSlirp as findSlirpFor,
  type PrivateNetwork,
  type RunNetwork,
  readProcStat,
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

/** Where slirp4netns is, or a set-up failure naming the package (or an unusable tun device). */
export function findSlirp(isUnprivileged: boolean): string {
  return findSlirpFor('bwrap', isUnprivileged);
}

/**
 * Waits for bwrap's sandbox, starts slirp4netns on the network namespace the sandbox was
 * started in (that of bwrap's own process, the sandbox init's parent: its user namespace
 * owns that network namespace, which the init's nested one does not), publishes the ports,
 * then releases the sandbox. Resolves undefined when the run ended first.
 */
export function attachPrivateNetwork(
  slirpPath: string,
  options: AttachOptions,
): Promise<PrivateNetwork | undefined> {
  return attach(slirpPath, {
    backend: 'bwrap',
    network: options.network,
    readNetnsPid: () => {
      const childPid = options.readChildPid();
      return childPid === undefined ? undefined : readProcStat(childPid)?.ppid;
    },
    hasEnded: options.hasEnded,
    release: options.release,
    isUnprivileged: options.isUnprivileged,
  });
}
