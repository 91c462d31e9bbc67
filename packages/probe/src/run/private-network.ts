import type { ChildProcess } from 'node:child_process';
import { readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { PolytheneError } from '@polythene/errors';
import type { PublishedPort } from '../backend.ts';
import { createRunTempDir } from './run-temp-dir.ts';

/** Options for {@link startPrivateNetwork}. */
export interface PrivateNetworkOptions {
  /** Absolute path of slirp4netns. */
  readonly slirpPath: string;
  /**
   * Host pid of a process in the box's network namespace, and (unprivileged) in the user
   * namespace that owns it.
   */
  readonly pid: number;
  /** Join the pid's user namespace first (an unprivileged caller; root needs not). */
  readonly joinUserNamespace: boolean;
  /** Ports to forward from the host's 127.0.0.1. */
  readonly publish: readonly PublishedPort[];
  /** Backend name, for messages. */
  readonly backend: string;
  /** How long slirp4netns may take to configure the box's interface; default 10 s. */
  readonly readyTimeoutMs?: number;
}

/** A running slirp4netns for one box. */
export interface PrivateNetwork {
  /** Ends slirp4netns and removes its API socket's directory. Idempotent. */
  stop(): void;
}

// The addresses slirp4netns --configure gives: the box is 10.0.2.100, its resolver 10.0.2.3.
/** The resolver the box's `/etc/resolv.conf` names in `private` mode. */
export const PRIVATE_NETWORK_RESOLVER = '10.0.2.3';

/**
 * Starts slirp4netns on the network namespace of `pid`: `tap0` configured (10.0.2.100/24,
 * gateway 10.0.2.2, DNS 10.0.2.3), loopback up, the host's loopback NOT reachable
 * (`--disable-host-loopback`), then each published port added through its API socket,
 * bound to 127.0.0.1 only. Resolves once all of that is in place.
 *
 * slirp4netns dies with polythene: its `--exit-fd` is a socket only we hold, so it exits when
 * we close it or when polythene dies however (SIGKILL included). Throws
 * `POLYTHENE_SETUP_FAILED` with one line (a busy port is named) and leaves nothing running.
 */
export async function startPrivateNetwork(options: PrivateNetworkOptions): Promise<PrivateNetwork> {
  const netns = `/proc/${options.pid}/ns/net`;
  const fail = (why: string): PolytheneError =>
    new PolytheneError('POLYTHENE_SETUP_FAILED', `${options.backend}: --network private: ${why}`);
  // Never attach a tap device to the host's own namespace: the box must have its own already.
  let boxNetns: string;
  try {
    boxNetns = readlinkSync(netns);
  } catch {
    throw fail('the box ended before its network was set up');
  }
  if (boxNetns === readlinkSync('/proc/self/ns/net')) {
    throw fail('the box has no network namespace of its own');
  }
  // The API socket's directory is only needed to publish: it goes as soon as that is done.
  const apiDir = options.publish.length > 0 ? createRunTempDir('polythene-net-') : '';
  const removeApiDir = (): void => {
    if (apiDir !== '') rmSync(apiDir, { recursive: true, force: true });
  };
  const apiSocket = apiDir === '' ? '' : join(apiDir, 'api.sock');
  const args = [
    '--configure',
    '--mtu=65520',
    '--disable-host-loopback',
    '--exit-fd=3',
    '--ready-fd=4',
    ...(apiSocket === '' ? [] : [`--api-socket=${apiSocket}`]),
    '--netns-type=path',
    ...(options.joinUserNamespace ? [`--userns-path=/proc/${options.pid}/ns/user`] : []),
    netns,
    'tap0',
  ];
  // Loaded here, not at the top: the exec hot path never loads child_process nor net.
  const { spawn } = process.getBuiltinModule('node:child_process');
  const child = spawn(options.slirpPath, args, {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
    env: {},
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    if (stderr.length < 4096) stderr += chunk.toString();
  });
  let isStopped = false;
  const stop = (): void => {
    if (isStopped) return;
    isStopped = true;
    // Closing the exit fd ends it; SIGKILL is for one that hangs (SIGTERM can crash 1.2).
    (child.stdio[3] as Readable | null)?.destroy();
    if (child.exitCode === null && child.signalCode === null) {
      const timer = setTimeout(() => child.kill('SIGKILL'), 1_000);
      timer.unref();
      child.once('exit', () => clearTimeout(timer));
    }
    for (const stream of [child.stderr, child.stdio[4] as Readable | null]) stream?.destroy();
    removeApiDir();
  };
  try {
    await waitUntilReady(child, options.readyTimeoutMs ?? 10_000, () => lastLine(stderr));
    for (const port of options.publish) await addHostForward(apiSocket, port);
    removeApiDir();
  } catch (error) {
    stop();
    const why = error instanceof Error ? error.message : String(error);
    throw fail(why);
  }
  return { stop };
}

function waitUntilReady(
  child: ChildProcess,
  timeoutMs: number,
  describeFailure: () => string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const ready = child.stdio[4] as Readable | null;
    const timer = setTimeout(() => {
      done();
      reject(new Error(`slirp4netns was not ready after ${timeoutMs} ms`));
    }, timeoutMs);
    const onData = (): void => {
      done();
      resolve();
    };
    const onExit = (): void => {
      done();
      reject(new Error(`slirp4netns failed: ${describeFailure() || 'it exited at once'}`));
    };
    const onError = (error: Error): void => {
      done();
      reject(new Error(`could not start slirp4netns: ${error.message}`));
    };
    const done = (): void => {
      clearTimeout(timer);
      ready?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
    };
    ready?.on('data', onData);
    child.on('exit', onExit);
    child.on('error', onError);
  });
}

/** One `add_hostfwd` request on slirp4netns's API socket. */
function addHostForward(apiSocket: string, port: PublishedPort): Promise<void> {
  const request = JSON.stringify({
    execute: 'add_hostfwd',
    arguments: {
      proto: port.protocol,
      host_addr: '127.0.0.1',
      host_port: port.hostPort,
      guest_port: port.boxPort,
    },
  });
  const shown = `--publish ${port.hostPort}:${port.boxPort}/${port.protocol}`;
  return new Promise((resolve, reject) => {
    const socket = process.getBuiltinModule('node:net').connect(apiSocket);
    let reply = '';
    socket.setTimeout(5_000, () => socket.destroy(new Error('no answer from slirp4netns')));
    socket.on('connect', () => socket.end(request));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString();
    });
    socket.on('error', (error) => reject(new Error(`${shown}: ${error.message}`)));
    socket.on('close', () => {
      if (reply.includes('"return"')) resolve();
      else {
        reject(
          new Error(
            `${shown}: host port ${port.hostPort} on 127.0.0.1 is in use or cannot be bound`,
          ),
        );
      }
    });
  });
}

function lastLine(text: string): string {
  return (
    text
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '')
      .at(-1) ?? ''
  );
}
