import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { PolytheneError } from '@polythene/errors';
import type { Backend, RunResult, RunSpec } from '@polythene/probe';
import {
  BOX_HELPERS_DIR,
  checkRunSpec,
  decodeExitCode,
  findTerminalHelper,
  findUsernsHelper,
  listChildPids,
  openBlockPipe,
  openSideChannelFile,
  type PrivateNetwork,
  readProcStat,
  relayTerminal,
  resolveBindTargets,
  type SuperviseOptions,
  sendSignal,
  superviseProcess,
  USERNS_HELPER,
  wrapCommandForTerminal,
  wrapCommandToBecomeUser,
} from '@polythene/probe';
import { attachPrivateNetwork, findSlirp } from './attach-private-network.ts';
import {
  buildBwrapArgs,
  buildBwrapCommandLine,
  findBwrapDeviceCopies,
  wrapInNetworkNamespace,
} from './build-bwrap-args.ts';
import { describeBwrapError } from './describe-bwrap-error.ts';
import { type BwrapStatus, parseBwrapStatus } from './parse-bwrap-status.ts';
import { findHelperOverlay, hasOwnNetworkFromHelper, planBwrapRun } from './plan-bwrap-run.ts';
import { probeBwrap, readBwrapDetails } from './probe-bwrap.ts';
import { readIdMapDetails } from './probe-id-map.ts';

/**
 * Creates the bubblewrap backend: the strongest built-in isolation (own network, pid, ipc and
 * uts namespaces, fresh `/proc`, minimal `/dev`, no capabilities, new session, the tree dies
 * with polythene). Non-root callers need unprivileged user namespaces.
 */
export function createBwrapBackend(): Backend {
  return {
    name: 'bwrap',
    // The probe stores the path of the polythene-userns helper it tried: an install that moved
    // or was rebuilt (another checkout, a new version) is a different host and probes afresh.
    binaries: ['bwrap', 'unshare', 'setpriv', 'newuidmap', findUsernsHelper() ?? USERNS_HELPER],
    // Bump when the probe's result changes meaning (2: canOverlay; 3: the filesystem and
    // keyring guarantees).
    probeRevision: '4',
    aliases: ['bubblewrap'],
    description:
      'bubblewrap: namespaces, fresh /proc, minimal /dev; root in the box is root of its own user namespace with the container capability set (needs user namespaces when not root)',
    supportsTerminal: true,
    networkModes: ['none', 'host', 'private'],
    probe: probeBwrap,
    run: runWithBwrap,
  };
}

async function runWithBwrap(given: RunSpec): Promise<RunResult> {
  checkRunSpec(given, 'bwrap');
  // bwrap creates and follows mount targets under its own root, where the host's is /oldroot:
  // it gets targets already resolved inside the rootfs, with no symlink left to follow.
  const resolved: RunSpec = { ...given, binds: resolveBindTargets(given, 'bwrap') };
  // On a terminal, the box runs the helper's inner side (from the helpers' directory, bound
  // read-only into bwrap's own /dev, after the image's targets were resolved), which opens a
  // pty in the box's devpts.
  const helper = given.terminal ? findTerminalHelper() : undefined;
  const isRoot = process.geteuid?.() === 0;
  const plan = planBwrapRun(given, isRoot, readIdMapDetails(given.probe.details)?.map);
  const inner =
    helper === undefined ? resolved.argv : wrapCommandForTerminal(resolved.argv, helper);
  // A non-root user in a box with every id mapped: bwrap stays root of the box's namespace and
  // the become helper (from the same directory) turns into the user right before the command.
  const become = plan.becomesUser ? wrapCommandToBecomeUser(inner, given) : undefined;
  // A box that stays up runs its holder from the same directory (`RunSpec.helpers`).
  const helpersDir =
    helper?.hostDir ??
    become?.hostDir ??
    (given.helpers === true ? findTerminalHelper().hostDir : undefined);
  const spec: RunSpec =
    helpersDir === undefined
      ? resolved
      : {
          ...resolved,
          argv: become?.argv ?? inner,
          binds: [
            ...resolved.binds,
            { source: helpersDir, target: BOX_HELPERS_DIR, readOnly: true },
          ],
        };
  const details = readBwrapDetails(spec.probe.details);
  const canDrop =
    details.hasUserNamespaces &&
    details.setprivPath !== '' &&
    details.unsharePath !== '' &&
    details.mountPath !== '' &&
    details.shPath !== '';
  if (plan.dropsToImageUser && !canDrop) {
    throw new PolytheneError(
      'POLYTHENE_SETUP_FAILED',
      `bwrap: cannot run as uid ${spec.uid}:${spec.gid} as root here: that needs setpriv, unshare and mount (util-linux) and unprivileged user namespaces; pass --user 0 or use --isolation=chroot`,
    );
  }
  const stagingDir = plan.dropsToImageUser ? createStagingDir(spec) : undefined;
  // Without a user namespace, or in root's identity-mapped one, the command is (for files) the
  // host's root, owner of the device nodes.
  const deviceCopies = plan.usesUserNamespace || !isRoot ? undefined : findBwrapDeviceCopies();
  const options = buildBwrapArgs(spec, plan, stagingDir, deviceCopies);
  const isPrivateNetwork = spec.network?.mode === 'private';
  const slirpPath = isPrivateNetwork ? findSlirp(!isRoot) : '';
  if (isPrivateNetwork && (details.unsharePath === '' || details.shPath === '')) {
    throw new PolytheneError(
      'POLYTHENE_SETUP_FAILED',
      'bwrap: --network private needs unshare and sh (install the util-linux and dash packages)',
    );
  }
  const bwrapCommandLine = buildBwrapCommandLine(spec, plan, {
    bwrap: details.bwrapPath,
    setpriv: details.setprivPath,
    unshare: details.unsharePath,
    mount: details.mountPath,
    sh: details.shPath,
    userns: readIdMapDetails(spec.probe.details)?.helper,
    ...(stagingDir === undefined ? {} : { stagingDir }),
    isInOwnUserNamespace: isPrivateNetwork && !isRoot,
  });
  const commandLine = isPrivateNetwork
    ? wrapInNetworkNamespace(
        bwrapCommandLine,
        { unshare: details.unsharePath, sh: details.shPath },
        // With an id map the command line already runs as root of the box's user namespace
        // (polythene-userns, or the guard's newuidmap): the network namespace is made there.
        isRoot || plan.idMap !== undefined,
      )
    : bwrapCommandLine;

  // Options in and status out through files, not pipes: nothing to drain while it runs, and
  // the status is read only when it matters (a signal to forward, the exit).
  const argsFile = openSideChannelFile(options.map((arg) => `${arg}\0`).join(''));
  const statusFile = openSideChannelFile();
  const readStatus = (): BwrapStatus => parseBwrapStatus(statusFile.readText());
  const blockPipe = isPrivateNetwork ? openBlockPipe() : undefined;
  let network: PrivateNetwork | undefined;
  let networkError: unknown;
  try {
    const supervision: SuperviseOptions = {
      backend: 'bwrap',
      file: commandLine.file,
      args: commandLine.args,
      env: {},
      controls: spec,
      extraStdio: [argsFile.fd, statusFile.fd, ...(blockPipe ? [blockPipe.fd] : [])],
      // Unprivileged, the guard enters the box's user namespace before it sets no_new_privs.
      ...(plan.idMap?.newuidmap === undefined
        ? {}
        : {
            guard: {
              userNamespace: plan.idMap,
              ownNetwork: hasOwnNetworkFromHelper(spec, plan),
              overlay: findHelperOverlay(spec, plan),
            },
          }),
      findCommandPid: () => {
        // bwrap's init is pid 1 of the sandbox; the command is its child.
        const { childPid } = readStatus();
        return childPid === undefined ? undefined : listChildPids(childPid)[0];
      },
      killTree: () => {
        // Killing the pid namespace's init kills every process in it at once.
        const { childPid } = readStatus();
        if (childPid !== undefined) sendSignal(childPid, 'SIGKILL');
      },
      interpretExit: (exit) => {
        // bwrap exits 0 only when the command did (a set-up failure is 1): no status to read.
        if (exit.code === 0) return { exitCode: 0, signal: null };
        const status = readStatus();
        if (status.exitCode !== undefined) return decodeExitCode(status.exitCode);
        if (exit.killedBySupervisor) return { exitCode: null, signal: 'SIGKILL' };
        if (exit.signal !== null) return { exitCode: null, signal: exit.signal };
        throw new PolytheneError(
          'POLYTHENE_SETUP_FAILED',
          `bwrap could not set up the sandbox: ${describeBwrapError(exit.stderr)}`,
        );
      },
    };
    let hasEnded = false;
    const running = superviseProcess(
      helper && spec.terminal ? relayTerminal(supervision, spec.terminal, helper) : supervision,
    ).finally(() => {
      hasEnded = true;
    });
    if (blockPipe && spec.network) {
      // The sandbox waits on the block pipe; a network that fails ends it before the command.
      attachPrivateNetwork(slirpPath, {
        network: spec.network,
        readChildPid: () => readStatus().childPid,
        hasEnded: () => hasEnded,
        release: () => blockPipe.release(),
        isUnprivileged: !isRoot,
      }).then(
        (attached) => {
          network = attached;
        },
        (error: unknown) => {
          networkError = error;
          const { childPid } = readStatus();
          if (childPid !== undefined) {
            const bwrapPid = readProcStat(childPid)?.ppid;
            sendSignal(childPid, 'SIGKILL');
            if (bwrapPid !== undefined) sendSignal(bwrapPid, 'SIGKILL');
          }
        },
      );
    }
    const result = await running;
    if (networkError !== undefined) throw networkError;
    return result;
  } catch (error) {
    throw networkError ?? error;
  } finally {
    network?.stop();
    blockPipe?.close();
    argsFile.close();
    statusFile.close();
    if (stagingDir !== undefined) removeStagingDir(stagingDir);
  }
}

// Empty mount points for the rootfs and each bind source; the mounts themselves only exist in
// the run's private mount namespace, so on the host these stay empty.
function createStagingDir(spec: RunSpec): string {
  const dir = mkdtempSync(join(process.getBuiltinModule('node:os').tmpdir(), 'polythene-bwrap-'));
  chmodSync(dir, 0o711);
  mkdirSync(join(dir, 'rootfs'));
  spec.binds.forEach((bind, index) => {
    const target = join(dir, `bind-${index}`);
    if (statSync(bind.source).isDirectory()) mkdirSync(target);
    else writeFileSync(target, '');
  });
  return dir;
}

// rmdir/unlink of EMPTY entries only: were a mount ever visible here, recursive removal
// would delete the rootfs itself.
function removeStagingDir(dir: string): void {
  try {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) rmdirSync(path);
      else if (statSync(path).size === 0) rmSync(path);
    }
    rmdirSync(dir);
  } catch {
    // Left behind as empty mount points in the host's temp dir; harmless.
  }
}
