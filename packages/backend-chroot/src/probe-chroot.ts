import { existsSync, lstatSync, readFileSync, readlinkSync } from 'node:fs';
import type { Guarantee, ProbeContext, ProbeResult } from '@polythene/probe';
import { ALL_GUARANTEES, findExecutable, listHostDevices, runQuietly } from '@polythene/probe';
import {
  type ChrootArgsOptions,
  type ChrootHostDev,
  KERNEL_PROC_ENTRIES,
} from './build-chroot-args.ts';
import { tryOverlayMount } from './try-overlay-mount.ts';

/** Keys of the probe's `details` that `run` reads back. */
export interface ChrootDetails {
  readonly unsharePath: string;
  readonly setprivPath: string;
  readonly mountPath: string;
  readonly capshPath: string;
  readonly shPath: string;
  readonly cpPath: string;
  readonly ipPath: string;
  readonly hasNet: boolean;
  readonly hasPid: boolean;
  readonly hasIpc: boolean;
  readonly hasUts: boolean;
  /** Highest capability number this kernel knows. */
  readonly lastCap: string;
}

const requiredTools: readonly [string, string][] = [
  ['unshare', 'util-linux'],
  ['mount', 'mount'],
  ['capsh', 'libcap2-bin'],
  ['sh', 'dash'],
  ['cp', 'coreutils'],
];

/**
 * Probes the chroot backend silently: root only; finds unshare, mount, capsh, sh and cp; and
 * tries each namespace, so a host that refuses one is reported as a lost guarantee rather
 * than a silent downgrade. `canOverlay` when a trial overlayfs mount works. Without a private mount namespace it is unavailable: /proc and
 * /dev would be mounted on the host.
 */
export async function probeChroot(context: ProbeContext): Promise<ProbeResult> {
  if (!context.isRoot) {
    return {
      available: false,
      reason: 'chroot needs root (polythene is not running as root); use bwrap or proot',
    };
  }
  const paths = new Map<string, string>();
  for (const [tool, debianPackage] of requiredTools) {
    const path = findExecutable(tool, context.hostEnv);
    if (path === undefined) {
      return {
        available: false,
        reason: `${tool} not found on PATH (install the ${debianPackage} package)`,
        missing: { tool, debianPackage },
      };
    }
    paths.set(tool, path);
  }
  const unsharePath = paths.get('unshare') as string;
  const shPath = paths.get('sh') as string;
  const tryUnshare = async (flags: readonly string[]): Promise<boolean> =>
    (
      await runQuietly(unsharePath, [
        ...flags,
        '--mount',
        '--propagation',
        'private',
        '--',
        shPath,
        '-c',
        'exit 0',
      ])
    ).exitCode === 0;
  if (!(await tryUnshare([]))) {
    return {
      available: false,
      reason:
        'unshare cannot create a private mount namespace here (are we in a restricted container?); use bwrap or proot',
    };
  }
  const all = await tryUnshare(['--net', '--pid', '--fork', '--kill-child', '--ipc', '--uts']);
  const hasNet = all || (await tryUnshare(['--net']));
  const hasPid = all || (await tryUnshare(['--pid', '--fork', '--kill-child']));
  const hasIpc = all || (await tryUnshare(['--ipc']));
  const hasUts = all || (await tryUnshare(['--uts']));
  const setprivPath = findExecutable('setpriv', context.hostEnv) ?? '';
  // filesystem: a real chroot with the escape capabilities dropped; keyring: the exec guard;
  // ids: the command is the host's root, so every id is real.
  const guarantees: Guarantee[] = [
    'dev',
    'capabilities',
    'new-session',
    'filesystem',
    'keyring',
    'ids',
  ];
  const lost: Partial<Record<Guarantee, string>> = {};
  const refused = (what: string): string => `this host refuses ${what} namespaces even to root`;
  if (hasNet) guarantees.push('network');
  else lost.network = refused('network');
  if (hasPid) guarantees.push('pid', 'proc');
  else {
    lost.pid = refused('pid');
    lost.proc = 'no pid namespace here, so /proc would show host processes: it is not mounted';
  }
  if (hasIpc) guarantees.push('ipc');
  else lost.ipc = refused('ipc');
  if (hasUts) guarantees.push('uts');
  else lost.uts = refused('uts');
  if (hasPid && setprivPath !== '') guarantees.push('tree-kill');
  else {
    lost['tree-kill'] = hasPid
      ? 'setpriv (util-linux) not found: if polythene is killed with SIGKILL, the command survives'
      : 'no pid namespace here: processes the command leaves behind may survive it';
  }
  guarantees.sort((a, b) => ALL_GUARANTEES.indexOf(a) - ALL_GUARANTEES.indexOf(b));
  const version = /(\d+\.\d+(?:\.\d+)?)/.exec(
    (await runQuietly(unsharePath, ['--version'])).stdout,
  )?.[1];
  const details: ChrootDetails = {
    unsharePath,
    setprivPath,
    mountPath: paths.get('mount') as string,
    capshPath: paths.get('capsh') as string,
    shPath,
    cpPath: paths.get('cp') as string,
    ipPath: findExecutable('ip', context.hostEnv) ?? '',
    hasNet,
    hasPid,
    hasIpc,
    hasUts,
    lastCap: readLastCap(),
  };
  const canOverlay = await tryOverlayMount({
    unshare: unsharePath,
    mount: details.mountPath,
    sh: shPath,
  });
  return { available: true, version, guarantees, lost, details: { ...details }, canOverlay };
}

function readLastCap(): string {
  try {
    return readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim();
  } catch {
    return '40';
  }
}

/** Reads the probe's details back. */
export function readChrootDetails(
  details: Readonly<Record<string, string | boolean>>,
): ChrootDetails {
  const text = (key: string, fallback: string): string => {
    const value = details[key];
    return typeof value === 'string' ? value : fallback;
  };
  return {
    unsharePath: text('unsharePath', 'unshare'),
    setprivPath: text('setprivPath', ''),
    mountPath: text('mountPath', 'mount'),
    capshPath: text('capshPath', 'capsh'),
    shPath: text('shPath', '/bin/sh'),
    cpPath: text('cpPath', 'cp'),
    ipPath: text('ipPath', ''),
    hasNet: details.hasNet === true,
    hasPid: details.hasPid === true,
    hasIpc: details.hasIpc === true,
    hasUts: details.hasUts === true,
    lastCap: text('lastCap', '40'),
  };
}

/** The host facts `buildChrootArgs` needs, from the probe's details. */
export function chrootArgsOptionsFrom(details: ChrootDetails): ChrootArgsOptions {
  return {
    unshare: details.unsharePath,
    ...(details.setprivPath === '' ? {} : { setpriv: details.setprivPath }),
    mount: details.mountPath,
    capsh: details.capshPath,
    sh: details.shPath,
    cp: details.cpPath,
    ip: details.ipPath,
    namespaces: {
      net: details.hasNet,
      pid: details.hasPid,
      ipc: details.hasIpc,
      uts: details.hasUts,
    },
    lastCap: Number(details.lastCap),
  };
}

const usualDevLinks: readonly [string, string][] = [
  ['/dev/fd', '/proc/self/fd'],
  ['/dev/stdin', '/proc/self/fd/0'],
  ['/dev/stdout', '/proc/self/fd/1'],
  ['/dev/stderr', '/proc/self/fd/2'],
];
let hasUsualDevLinksHere: boolean | undefined;

/**
 * True when the host's `/dev/fd`, `stdin`, `stdout` and `stderr` link where they usually do,
 * and its `/dev/ptmx` is the usual multiplexer (5,2: since Linux 4.7 it opens the devpts
 * mounted beside it) or a link to `pts/ptmx`: the set-up script then copies them all.
 */
export function hasUsualDevLinks(): boolean {
  hasUsualDevLinksHere ??=
    usualDevLinks.every(([path, target]) => {
      try {
        return readlinkSync(path) === target;
      } catch {
        return false;
      }
    }) && isUsualPtmx();
  return hasUsualDevLinksHere;
}

function isUsualPtmx(): boolean {
  const stat = lstatSync('/dev/ptmx', { throwIfNoEntry: false });
  if (stat?.isSymbolicLink()) return readlinkSync('/dev/ptmx') === 'pts/ptmx';
  // rdev 5,2: major 5 in bits 8-19, minor 2 in bits 0-7 (the old encoding Linux still uses).
  return stat?.isCharacterDevice() === true && stat.rdev === ((5 << 8) | 2);
}

let kernelProcEntriesHere: string[] | undefined;

/** The host facts about `/dev` and `/proc` the chroot set-up script needs (looked up once). */
export function chrootHostDev(): ChrootHostDev {
  // A fresh /proc has the same entries as the host's.
  kernelProcEntriesHere ??= KERNEL_PROC_ENTRIES.filter((name) => existsSync(`/proc/${name}`));
  return {
    devices: listHostDevices(),
    canCopyDevLinks: hasUsualDevLinks(),
    kernelProcEntries: kernelProcEntriesHere,
  };
}
