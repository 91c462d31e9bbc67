import { MINIMAL_DEVICES, type RunSpec } from '@polythene/probe';

/** Host facts the proot argv depends on (from the probe). */
export interface ProotArgsOptions {
  /** Absolute path of proot. */
  readonly proot: string;
  /** Absolute path of setpriv, when present: parent-death signal, no_new_privs, caps dropped. */
  readonly setpriv?: string;
  /** True when this proot has `--kill-on-exit`. */
  readonly hasKillOnExit: boolean;
  /** True when polythene runs as root: setpriv then also empties the capability sets. */
  readonly isRoot: boolean;
  /** Host device paths to bind (those that exist), e.g. `/dev/null`. */
  readonly devices: readonly string[];
  /** The host directory bound at `/dev` (see `openProotDevDir`). */
  readonly devDir: string;
  /**
   * Paths under the bound `/proc` shown as the run's own `/dev/null` instead (a device node
   * of the run's, so only with root's copies): what is written there is dropped.
   */
  readonly maskedProcPaths?: readonly string[];
  /**
   * For a run on a terminal (`--tty`): the host's devpts and ptmx are bound, for the pty the
   * helper opens in the box. `openProotDevDir(…, terminalHelper)` makes their mount points
   * and puts a copy of the helper in the run's `/dev/.polythene`: the host's helpers'
   * directory is never bound (proot would not keep it read-only).
   */
  readonly forTerminal?: boolean;
}

/**
 * What a root command under proot could use to take the whole host down, masked when the
 * kernel has it: `echo b > /proc/sysrq-trigger` reboots the machine at once.
 */
export const PROOT_MASKED_PROC_PATHS: readonly string[] = ['/proc/sysrq-trigger'];

/** The minimal set of host devices a command may see under proot (`MINIMAL_DEVICES`). */
export const PROOT_DEVICES: readonly string[] = MINIMAL_DEVICES;

/**
 * Builds the argv for one proot run. proot cannot create namespaces: it emulates chroot by
 * tracing system calls. Decisions: `-0` (root emulation) for uid 0, else `-i uid:gid`; a
 * minimal `/dev` (a read-only directory of `/proc/self/fd` links, with the host's devices
 * bound in), and no `/dev/pts` or `/dev/shm` (those would expose other users' terminals and
 * shared memory); `/proc` is the host's, bound (proot cannot mount a fresh one); `/tmp` is
 * the image's. proot runs at verbosity 0: its notices ("terminated with signal n", which
 * tells a signal death from exit status 255, and its own errors) go to stderr, where the
 * supervisor takes them out.
 */
export function buildProotArgs(
  spec: RunSpec,
  options: ProotArgsOptions,
): { file: string; args: string[] } {
  const prootArgs: string[] = [];
  if (options.hasKillOnExit) prootArgs.push('--kill-on-exit');
  // Level 0 keeps proot's one-line notices (a signal death, its own errors) on stderr: the
  // supervisor reads them there and keeps them from the user's terminal.
  prootArgs.push('-v', '0');
  prootArgs.push('-r', spec.rootfs);
  if (spec.uid === 0 && spec.gid === 0) prootArgs.push('-0');
  else prootArgs.push('-i', `${spec.uid}:${spec.gid}`);
  prootArgs.push('-w', spec.cwd);
  // /dev is a read-only host directory (links into /proc/self/fd, files to bind devices on),
  // never the image's own: nothing the command writes there reaches the image.
  prootArgs.push('-b', `${options.devDir}:/dev`);
  for (const device of options.devices) prootArgs.push('-b', device);
  if (options.forTerminal === true) {
    // proot cannot mount a devpts of the box's own: the host's, which proot does not confine
    // anyway (a command under proot reaches the host's files; see the guarantees).
    prootArgs.push('-b', '/dev/pts', '-b', '/dev/ptmx');
  }
  prootArgs.push('-b', '/proc');
  for (const path of options.maskedProcPaths ?? []) {
    prootArgs.push('-b', `${options.devDir}/null:${path}`);
  }
  for (const bind of spec.binds) prootArgs.push('-b', `${bind.source}:${bind.target}`);
  // proot has no `--`: the command starts at the first non-option argument.
  prootArgs.push(...spec.argv);
  if (options.setpriv === undefined) return { file: options.proot, args: prootArgs };
  return {
    file: options.setpriv,
    args: [
      // proot dies with polythene (SIGKILL included); with --kill-on-exit its tracees follow.
      '--pdeathsig',
      'KILL',
      '--no-new-privs',
      // Root keeps root's uid (proot needs nothing more) but no capability at all.
      ...(options.isRoot ? ['--bounding-set=-all', '--inh-caps=-all'] : []),
      '--',
      options.proot,
      ...prootArgs,
    ],
  };
}

const signalNotice = /^proot info: pid (\d+): terminated with signal (\d+)$/;
const ownNotice = /^proot (info|warning): /;

/**
 * Splits proot's own notices out of captured stderr: returns the command's stderr without
 * them and the signal that ended the command, read from the notice for the lowest pid (the
 * first process proot started is the command).
 */
export function extractProotNotices(stderr: string): {
  readonly stderr: string;
  readonly signalNumber?: number;
} {
  let commandPid: number | undefined;
  let signalNumber: number | undefined;
  const kept: string[] = [];
  for (const line of stderr.split('\n')) {
    const match = signalNotice.exec(line);
    if (match) {
      const pid = Number(match[1]);
      if (commandPid === undefined || pid < commandPid) {
        commandPid = pid;
        signalNumber = Number(match[2]);
      }
      continue;
    }
    if (ownNotice.test(line)) continue;
    kept.push(line);
  }
  return signalNumber === undefined
    ? { stderr: kept.join('\n') }
    : { stderr: kept.join('\n'), signalNumber };
}
