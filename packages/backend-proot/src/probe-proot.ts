import { existsSync } from 'node:fs';
import type { Guarantee, ProbeContext, ProbeResult } from '@polythene/probe';
import { ALL_GUARANTEES, findExecutable, listHostDevices, runQuietly } from '@polythene/probe';
import { PROOT_MASKED_PROC_PATHS, type ProotArgsOptions } from './build-proot-args.ts';

/**
 * Why proot never confines a hostile command's filesystem access, as `polythene backends`
 * and the warning on every proot run say.
 */
export const PROOT_FILESYSTEM_REASON: string =
  'proot only translates the paths of the system calls it knows: polythene denies the ones it does not (openat2, statx, faccessat2, io_uring, …) and keeps its own environment and memory out of reach, but a hostile command still runs as your own user on the host, outside any namespace, and can reach what that user can (your other processes through /proc, their environment and memory, sockets, shared memory); use bwrap or chroot for untrusted code';

/** Keys of the probe's `details` that `run` reads back. */
export interface ProotDetails {
  /** Absolute path of proot. */
  readonly prootPath: string;
  /** Absolute path of setpriv, or ''. */
  readonly setprivPath: string;
  /** True when this proot has `--kill-on-exit`. */
  readonly hasKillOnExit: boolean;
}

/**
 * Probes proot silently: finds it, reads its version and options, and traces one real
 * command. proot works without root and without user namespaces, at the price of every
 * namespace guarantee (listed in `lost` with the reason).
 */
export async function probeProot(context: ProbeContext): Promise<ProbeResult> {
  const prootPath = findExecutable('proot', context.hostEnv);
  if (prootPath === undefined) {
    return {
      available: false,
      reason: 'proot not found on PATH (install the proot package)',
      missing: { tool: 'proot', debianPackage: 'proot' },
    };
  }
  const setprivPath = findExecutable('setpriv', context.hostEnv) ?? '';
  const truePath = findExecutable('true', context.hostEnv);
  const help = await runQuietly(prootPath, ['--help']);
  const versionRun = await runQuietly(prootPath, ['--version']);
  const version = /v?(\d+\.\d+(?:\.\d+)?)/.exec(versionRun.stdout + versionRun.stderr)?.[1];
  if (truePath !== undefined) {
    const traced = await runQuietly(prootPath, ['-v', '-1', '-r', '/', truePath]);
    if (traced.exitCode !== 0) {
      const detail = traced.stderr.trim().split('\n').at(-1);
      return {
        available: false,
        reason: `proot cannot trace processes on this host${detail ? ` (${detail})` : ''}; ptrace may be forbidden (seccomp, yama): use another backend`,
      };
    }
  }
  const hasKillOnExit = (help.stdout + help.stderr).includes('--kill-on-exit');
  // keyring: the exec guard; tree-kill: the exec guard reaps every process the command
  // leaves, on its end, a timeout, or polythene's death (it is their subreaper).
  const guarantees: Guarantee[] = ['dev', 'new-session', 'tree-kill', 'keyring'];
  const lost: Partial<Record<Guarantee, string>> = {
    network: 'proot cannot create namespaces: the command shares the host network',
    pid: 'proot cannot create namespaces: the command sees (and may signal) host processes of the same user',
    ipc: 'proot cannot create namespaces: the command shares the host IPC namespace',
    uts: 'proot cannot create namespaces: the command shares the host hostname',
    proc: context.isRoot
      ? "proot binds the host's /proc (it cannot mount a fresh one): host processes are visible, and a root command can change the host kernel's settings through /proc/sys"
      : "proot binds the host's /proc (it cannot mount a fresh one): host processes, and the environment of every other process of the same user (not polythene's), are visible",
    filesystem: PROOT_FILESYSTEM_REASON,
    ids: 'proot only emulates root (-0): chown to another id, and setuid binaries, do not take effect',
  };
  if (setprivPath !== '') guarantees.push('capabilities');
  else
    lost.capabilities =
      "setpriv (util-linux) not found: the command keeps the caller's capabilities and may gain privileges";
  guarantees.sort((a, b) => ALL_GUARANTEES.indexOf(a) - ALL_GUARANTEES.indexOf(b));
  const details: ProotDetails = { prootPath, setprivPath, hasKillOnExit };
  return {
    available: true,
    version,
    guarantees,
    lost,
    details: { ...details },
    canBindReadOnly: false,
  };
}

/** Reads the probe's details back, tolerating a cache written by another version. */
export function readProotDetails(
  details: Readonly<Record<string, string | boolean>>,
): ProotDetails {
  return {
    prootPath: typeof details.prootPath === 'string' ? details.prootPath : 'proot',
    setprivPath: typeof details.setprivPath === 'string' ? details.setprivPath : '',
    hasKillOnExit: details.hasKillOnExit === true,
  };
}

let maskedProcPathsHere: string[] | undefined;

/**
 * The host facts `buildProotArgs` needs, from the probe's details and this host's devices,
 * with the directory to bind at `/dev` (see `openProotDevDir`): the host's devices are bound
 * onto it unless it has device nodes of its own.
 */
export function prootArgsOptionsFrom(
  details: ProotDetails,
  isRoot: boolean,
  devDir: { readonly path: string; readonly hasDeviceNodes: boolean },
): ProotArgsOptions {
  // Root's command could write them; another user's could not, and has no null of its own.
  maskedProcPathsHere ??= PROOT_MASKED_PROC_PATHS.filter((path) => existsSync(path));
  return {
    proot: details.prootPath,
    ...(details.setprivPath === '' ? {} : { setpriv: details.setprivPath }),
    hasKillOnExit: details.hasKillOnExit,
    isRoot,
    devices: devDir.hasDeviceNodes ? [] : listHostDevices(),
    devDir: devDir.path,
    maskedProcPaths: devDir.hasDeviceNodes ? maskedProcPathsHere : [],
  };
}
