import { PolytheneError } from '@polythene/errors';
import {
  attachPrivateNetwork,
  findSlirp,
  openBlockPipe,
  type PrivateNetwork,
  type RunResult,
  type RunSpec,
  sendSignal,
} from '@polythene/probe';

/** `--network private` for one chroot run: slirp4netns on the run's own network namespace. */
export interface ChrootNetwork {
  /** The fd the set-up script waits on (its fd 5) until the network is attached. */
  readonly blockFd: number;
  /** The host pid of the set-up shell once it has named itself (it holds the namespace). */
  readNetnsPid(): number | undefined;
  /**
   * Attaches the network while `running` goes on: the box waits for it, a network that fails
   * ends the box before its command, and that failure is what the run throws.
   */
  attachWhile(running: Promise<RunResult>): Promise<RunResult>;
  /** Ends slirp4netns and closes the block pipe. Idempotent. */
  close(): void;
}

/**
 * Undefined unless the run asks for `private`. As root, chroot makes the run's network
 * namespace itself (`unshare --net`), so slirp4netns needs no user namespace to join.
 * `readSideChannel` reads what the set-up script wrote to its fd 3 (`netns PID`, then
 * `ready`).
 */
export function prepareChrootNetwork(
  spec: Pick<RunSpec, 'network'>,
  canMakeNetworkNamespace: boolean,
  readSideChannel: () => string,
): ChrootNetwork | undefined {
  const request = spec.network;
  if (request?.mode !== 'private') return undefined;
  if (!canMakeNetworkNamespace) {
    throw new PolytheneError(
      'POLYTHENE_SETUP_FAILED',
      'chroot: --network private needs a network namespace, which this host does not let root create; use --network host or --isolation=bwrap',
    );
  }
  const slirpPath = findSlirp('chroot');
  const blockPipe = openBlockPipe();
  const readNetnsPid = (): number | undefined => {
    const match = /^netns (\d+)$/m.exec(readSideChannel());
    return match === null ? undefined : Number(match[1]);
  };
  let attached: PrivateNetwork | undefined;
  let isClosed = false;
  return {
    blockFd: blockPipe.fd,
    readNetnsPid,
    async attachWhile(running) {
      let hasEnded = false;
      const ended = running.finally(() => {
        hasEnded = true;
      });
      let networkError: unknown;
      attachPrivateNetwork(slirpPath, {
        backend: 'chroot',
        network: request,
        readNetnsPid,
        hasEnded: () => hasEnded || isClosed,
        release: () => blockPipe.release(),
        isUnprivileged: false,
      }).then(
        (network) => {
          if (isClosed) network?.stop();
          else attached = network;
        },
        (error: unknown) => {
          networkError = error;
          // The set-up shell is pid 1 of the run's pid namespace: the whole box goes with it.
          const pid = readNetnsPid();
          if (pid !== undefined) sendSignal(pid, 'SIGKILL');
        },
      );
      try {
        const result = await ended;
        if (networkError !== undefined) throw networkError;
        return result;
      } catch (error) {
        throw networkError ?? error;
      }
    },
    close() {
      if (isClosed) return;
      isClosed = true;
      attached?.stop();
      blockPipe.close();
    },
  };
}
