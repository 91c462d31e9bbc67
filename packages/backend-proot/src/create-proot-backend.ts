import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PolytheneError } from '@polythene/errors';
import type { Backend, RunResult, RunSpec } from '@polythene/probe';
import {
  checkRunSpec,
  decodeExitCode,
  findTerminalHelper,
  getSignalNumber,
  listChildPids,
  relayTerminal,
  resolveBindTargets,
  type SuperviseOptions,
  superviseProcess,
  wrapCommandForTerminal,
} from '@polythene/probe';
import { buildProotArgs, extractProotNotices } from './build-proot-args.ts';
import { probeProot, prootArgsOptionsFrom, readProotDetails } from './probe-proot.ts';
import { openProotDevDir } from './proot-dev-dir.ts';
import { removeProotLoaderFiles } from './proot-loader-files.ts';

// The exec guard's own failures (before proot starts) are one line with this prefix.
const GUARD_NOTICE_PREFIX = 'polythene-exec-guard: ';

const reportedSignals = [
  'SIGHUP',
  'SIGINT',
  'SIGQUIT',
  'SIGILL',
  'SIGTRAP',
  'SIGABRT',
  'SIGBUS',
  'SIGFPE',
  'SIGKILL',
  'SIGUSR1',
  'SIGSEGV',
  'SIGUSR2',
  'SIGPIPE',
  'SIGALRM',
  'SIGTERM',
] as const;

// The name of a signal proot reports by number, among those it reports.
function signalNamed(signalNumber: number): NodeJS.Signals | undefined {
  return reportedSignals.find((name) => getSignalNumber(name) === signalNumber);
}

/**
 * Creates the proot backend: runs without root and without user namespaces by tracing system
 * calls, so it works on locked-down CI runners, but enforces no namespace (no network cut,
 * host processes and /proc visible) and does not confine a hostile command: path translation
 * is not a boundary. Says so in its probe (`filesystem` lost).
 */
export function createProotBackend(): Backend {
  return {
    name: 'proot',
    binaries: ['proot', 'setpriv'],
    // Bump when the probe's result changes meaning (2: canOverlay; 3: root's /proc reason;
    // 4: canBindReadOnly; 5: filesystem lost, keyring and tree-kill through the exec guard;
    // 7: the filesystem reason no longer counts polythene's own environment and memory).
    probeRevision: '7',
    description:
      'proot: ptrace-based path translation, no root or namespaces needed; does not confine a hostile command (no filesystem, network or pid isolation)',
    supportsTerminal: true,
    // proot makes no namespace: the command always shares the host's network, so `none`
    // stays a lost guarantee and `private` cannot be given.
    networkModes: ['none', 'host'],
    probe: probeProot,
    run: runWithProot,
  };
}

async function runWithProot(given: RunSpec): Promise<RunResult> {
  checkRunSpec(given, 'proot');
  // Targets resolved inside the root (proot would too), and refused where an image symlink
  // leads them into /proc, /dev or another bind.
  const resolved: RunSpec = { ...given, binds: resolveBindTargets(given, 'proot') };
  // On a terminal, proot runs the helper's inner side, which opens a pty from the host's
  // devpts (proot cannot mount one of its own).
  const helper = given.terminal ? findTerminalHelper() : undefined;
  const spec: RunSpec =
    helper === undefined
      ? resolved
      : { ...resolved, argv: wrapCommandForTerminal(resolved.argv, helper) };
  const readOnly = spec.binds.find((bind) => bind.readOnly);
  if (readOnly !== undefined) {
    throw new PolytheneError(
      'POLYTHENE_SETUP_FAILED',
      `proot cannot make the bind ${readOnly.source}:${readOnly.target} read-only; bind it read-write or use --isolation=bwrap or chroot`,
    );
  }
  const details = readProotDetails(spec.probe.details);
  const isRoot = process.geteuid?.() === 0;
  if (helper !== undefined && isRoot && details.setprivPath === '') {
    // proot binds the host's /dev/pts for the pty, and a command that kept root's
    // capabilities (CAP_SYS_ADMIN) could TIOCSTI into any terminal there, the user's too.
    throw new PolytheneError(
      'POLYTHENE_SETUP_FAILED',
      "proot cannot run a command on a terminal as root without setpriv (util-linux), which drops root's capabilities: without it the command could type into your terminal; install util-linux or use --isolation=bwrap or chroot",
    );
  }
  // On a terminal, the run's /dev holds a copy of the helper for the box to run.
  const devDir = openProotDevDir(undefined, undefined, isRoot, helper?.hostPath);
  const { file, args } = buildProotArgs(spec, {
    ...prootArgsOptionsFrom(details, isRoot, devDir),
    forTerminal: helper !== undefined,
  });
  let prootPid: number | undefined;
  try {
    const supervision: SuperviseOptions = {
      backend: 'proot',
      file,
      args,
      // proot passes its own environment to the command unchanged: it must be exactly the spec's.
      env: spec.env,
      controls: spec,
      // The exec guard is proot's parent and the subreaper of everything the command starts:
      // when the command ends it kills what is left (daemons that left the process group
      // too), so proot can report the command's status; on a timeout it kills it all. It
      // also denies the system calls proot would let through untranslated.
      guard: { denyUntranslatedSyscalls: true, reapTree: true },
      // The command runs as the caller's user in its pid namespace: polythene's process (the
      // CLI, or the API caller's) stays non-dumpable meanwhile, so the command cannot read
      // its environment (host secrets) or memory through /proc. The guard and the terminal
      // relay make themselves non-dumpable too; proot, exec'd, cannot (it holds only the
      // command's own environment).
      hideSupervisor: true,
      // setpriv execs proot, the guard's child, whose pid names its glue directories.
      killTree: (guardPid) => {
        prootPid = listChildPids(guardPid)[0];
      },
      // proot tells a signal death and its own set-up errors only on stderr: read them there.
      backendNoticePrefixes: [
        'proot info: ',
        'proot error: ',
        'proot warning: ',
        GUARD_NOTICE_PREFIX,
      ],
      interpretExit: (exit) => {
        if (exit.code === null) {
          return { exitCode: null, signal: exit.killedBySupervisor ? 'SIGKILL' : exit.signal };
        }
        // Only proot's notices reach here: the command's stderr went past them, unchanged.
        // Usually there are none, and nothing to decode.
        const notices =
          exit.stderr === undefined || exit.stderr.length === 0
            ? ''
            : new TextDecoder().decode(exit.stderr);
        const signalNumber = notices === '' ? undefined : extractProotNotices(notices).signalNumber;
        // proot reports a command killed by a signal as 255 plus a notice; a killed tree is SIGKILL.
        if (exit.code === 255 && signalNumber !== undefined) {
          return { exitCode: null, signal: signalNamed(signalNumber) ?? 'SIGKILL' };
        }
        if (exit.killedBySupervisor) return { exitCode: null, signal: 'SIGKILL' };
        const guardError = notices.split('\n').find((line) => line.startsWith(GUARD_NOTICE_PREFIX));
        if (guardError !== undefined) {
          throw new PolytheneError('POLYTHENE_SETUP_FAILED', `proot: ${guardError}`);
        }
        const error = notices.split('\n').find((line) => line.startsWith('proot error: '));
        if (exit.code === 1 && error !== undefined) {
          throw new PolytheneError(
            'POLYTHENE_SETUP_FAILED',
            `proot could not start the command: ${error}`,
          );
        }
        return decodeExitCode(exit.code);
      },
    };
    return await superviseProcess(
      helper && spec.terminal ? relayTerminal(supervision, spec.terminal, helper) : supervision,
    );
  } finally {
    devDir.release();
    if (prootPid !== undefined) removeGlueDirectories(prootPid, spec.env);
    removeProotLoaderFiles(prootPid);
  }
}

/**
 * Removes the directories proot makes to show a bind target the image lacks ("glue"), in
 * `$PROOT_TMP_DIR` or /tmp, named after its pid. proot removes them when it exits, but not
 * when it is killed, as it is with the tree at a timeout.
 */
function removeGlueDirectories(prootPid: number, env: Readonly<Record<string, string>>): void {
  const tmp = env.PROOT_TMP_DIR || '/tmp';
  const prefix = `proot-${prootPid}-`;
  let names: string[];
  try {
    names = readdirSync(tmp);
  } catch {
    return;
  }
  for (const name of names) {
    if (name.startsWith(prefix)) rmSync(join(tmp, name), { recursive: true, force: true });
  }
}
