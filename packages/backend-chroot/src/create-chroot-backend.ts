import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PolytheneError } from '@polythene/errors';
import type { Backend, RunResult, RunSpec } from '@polythene/probe';
import {
  checkRunSpec,
  decodeExitCode,
  findTerminalHelper,
  listChildPids,
  locateInRootfs,
  openSideChannelFile,
  relayTerminal,
  resolveBindTargets,
  type SuperviseOptions,
  sendSignal,
  superviseProcess,
  wrapCommandForTerminal,
} from '@polythene/probe';
import { buildChrootArgs, type ChrootArgsOptions, type ChrootMount } from './build-chroot-args.ts';
import { describeSetupError } from './describe-setup-error.ts';
import { prepareChrootNetwork } from './prepare-chroot-network.ts';
import {
  chrootArgsOptionsFrom,
  chrootHostDev,
  probeChroot,
  readChrootDetails,
} from './probe-chroot.ts';

/**
 * Creates the chroot backend (root only): `unshare` namespaces, a fresh `/proc`, a minimal
 * tmpfs `/dev`, and a chroot a root command cannot leave (escape capabilities dropped).
 */
export function createChrootBackend(): Backend {
  return {
    name: 'chroot',
    binaries: ['unshare', 'capsh', 'setpriv'],
    // Bump when the probe's result changes meaning (2: canOverlay; 3: cp required; 4: the
    // filesystem and keyring guarantees).
    probeRevision: '5',
    description:
      'chroot (root only): unshare namespaces, fresh /proc, minimal /dev, escape capabilities dropped',
    supportsTerminal: true,
    // `private`: slirp4netns attached to the run's network namespace before the command starts.
    networkModes: ['none', 'host', 'private'],
    probe: probeChroot,
    run: runWithChroot,
  };
}

async function runWithChroot(given: RunSpec): Promise<RunResult> {
  checkRunSpec(given, 'chroot');
  // Targets resolved inside the root, and refused where an image symlink leads them into
  // /proc, /dev or another bind.
  const resolved: RunSpec = { ...given, binds: resolveBindTargets(given, 'chroot') };
  // On a terminal, the box runs the helper's inner side, which opens a pty in the box's own
  // devpts (the helpers' directory is bound into the run's /dev).
  const helper = given.terminal ? findTerminalHelper() : undefined;
  const spec: RunSpec =
    helper === undefined
      ? resolved
      : { ...resolved, argv: wrapCommandForTerminal(resolved.argv, helper) };
  // A box that stays up runs its holder from the same directory (`RunSpec.helpers`).
  const helpersDir =
    helper?.hostDir ?? (given.helpers === true ? findTerminalHelper().hostDir : undefined);
  if (process.geteuid?.() !== 0) {
    throw new PolytheneError(
      'POLYTHENE_SETUP_FAILED',
      'chroot needs root: run polythene as root or use bwrap or proot',
    );
  }
  const details = readChrootDetails(spec.probe.details);
  const isRootCommand = spec.uid === 0 && spec.gid === 0;
  // With an overlay, any lower layer may hold /bin/sh (a whiteout above it is not seen here:
  // the command then fails to start, as it would without /bin/sh).
  const layers = spec.overlay?.lowerDirs ?? [spec.rootfs];
  if (
    isRootCommand &&
    spec.cwd !== '/' &&
    !layers.some((layer) => existsSync(locateInRootfs(layer, '/bin/sh').hostPath))
  ) {
    throw new PolytheneError(
      'POLYTHENE_SETUP_FAILED',
      `chroot: entering ${spec.cwd} as root needs /bin/sh in the image (capsh always starts in /); pass --workdir / or use bwrap`,
    );
  }
  // An overlay root is only mounted inside the run's namespace: its set-up script creates
  // the mount targets there (in the upper layer). A plain rootfs gets them here, resolved.
  const isOverlay = spec.overlay !== undefined;
  const prepare = (target: string, isDirectory: boolean): string =>
    isOverlay ? target : prepareMountTarget(spec.rootfs, target, isDirectory);
  const mounts = {
    proc: prepare('/proc', true),
    dev: prepare('/dev', true),
    binds: spec.binds.map((bind): ChrootMount => {
      const isDirectory = statSync(bind.source).isDirectory();
      return {
        source: bind.source,
        hostTarget: prepare(bind.target, isDirectory),
        readOnly: bind.readOnly,
        isDirectory,
      };
    }),
  };
  const { file, args, mountTable } = buildChrootArgs(
    spec,
    withHostNetwork(chrootArgsOptionsFrom(details), spec),
    {
      ...mounts,
      ...chrootHostDev(),
      ...(helpersDir === undefined ? {} : { helpersDir }),
    },
  );
  // The set-up script reads its mount table from one file and writes "ready" to the other,
  // just before it starts the command. Files, not pipes: mount reads a table only from a
  // file, and nothing is left to drain while the command runs.
  const mountTableFile = openSideChannelFile(mountTable);
  const readyFile = openSideChannelFile();
  const isReady = (): boolean => readyFile.readText().includes('ready\n');
  const network = prepareChrootNetwork(spec, chrootArgsOptionsFrom(details).namespaces.net, () =>
    readyFile.readText(),
  );
  // unshare's forked child is the set-up shell: pid 1 of the new pid namespace (a private
  // network names it before the box is ready: it waits there for the network).
  const findInitPid = (backendPid: number): number | undefined =>
    isReady() ? listChildPids(backendPid)[0] : network?.readNetnsPid();
  try {
    const supervision: SuperviseOptions = {
      backend: 'chroot',
      file,
      args,
      env: spec.env,
      controls: spec,
      extraStdio: [readyFile.fd, mountTableFile.fd, ...(network ? [network.blockFd] : [])],
      findCommandPid: (backendPid) => {
        const initPid = findInitPid(backendPid);
        return initPid === undefined ? undefined : listChildPids(initPid)[0];
      },
      killTree: (backendPid) => {
        // SIGKILL to the pid namespace's init takes every process in it down at once.
        const initPid = findInitPid(backendPid);
        if (initPid !== undefined) sendSignal(initPid, 'SIGKILL');
      },
      interpretExit: (exit) => {
        if (exit.killedBySupervisor) return { exitCode: null, signal: 'SIGKILL' };
        if (!isReady()) {
          if (exit.signal !== null) return { exitCode: null, signal: exit.signal };
          throw new PolytheneError(
            'POLYTHENE_SETUP_FAILED',
            `chroot could not set up the sandbox: ${describeSetupError(exit.stderr)}`,
          );
        }
        if (exit.code === null) return { exitCode: null, signal: exit.signal };
        return decodeExitCode(exit.code);
      },
    };
    const running = superviseProcess(
      helper && spec.terminal ? relayTerminal(supervision, spec.terminal, helper) : supervision,
    );
    return await (network ? network.attachWhile(running) : running);
  } finally {
    network?.close();
    readyFile.close();
    mountTableFile.close();
  }
}

/**
 * The host path to mount on for `target` inside the rootfs, created (as a directory, or an
 * empty file for a file source) when missing. Resolved as if chrooted, so a symlink in the
 * image can never turn a mount target into a host path.
 */
function prepareMountTarget(rootfs: string, target: string, isDirectory: boolean): string {
  const { hostPath, missing } = locateInRootfs(rootfs, target);
  if (missing.length === 0) return hostPath;
  const parent = join(hostPath, ...missing.slice(0, -1));
  const full = join(hostPath, ...missing);
  mkdirSync(parent, { recursive: true });
  if (isDirectory) mkdirSync(full);
  else writeFileSync(full, '', { flag: 'wx' });
  // mkdir -p only created plain directories under a resolved path: check nothing raced us.
  const again = locateInRootfs(rootfs, target);
  if (again.missing.length > 0 || again.hostPath !== full) {
    throw new PolytheneError(
      'POLYTHENE_SETUP_FAILED',
      `chroot: mount target ${target} changed while it was created; try again`,
    );
  }
  return full;
}

// `--network host`: no network namespace of its own, and the host's loopback left alone.
function withHostNetwork(options: ChrootArgsOptions, spec: RunSpec): ChrootArgsOptions {
  if (spec.network?.mode !== 'host') return options;
  return { ...options, ip: '', namespaces: { ...options.namespaces, net: false } };
}
