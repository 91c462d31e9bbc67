import {
  closeSync,
  lstatSync,
  mkdtempSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { openPrivateDirectory } from '../open-private-directory.ts';
import { resolveProbeCachePath } from '../probe-cache.ts';
import { isProcessAlive } from './proc-tree.ts';

/** The minimal set of host devices a sandboxed command may see. */
export const MINIMAL_DEVICES: readonly string[] = [
  '/dev/null',
  '/dev/zero',
  '/dev/full',
  '/dev/random',
  '/dev/urandom',
  '/dev/tty',
];

/** The name of the directory of device copies in a parent directory. */
export const DEVICE_COPIES_DIR = 'devices';

/** A host device: its path, and what a copy of it must match (type, numbers and mode). */
interface HostDevice {
  readonly path: string;
  readonly mode: number;
  readonly rdev: number;
}

// By name (`null`, …): one stat each, once a process (a host's devices stay).
let hostDevices: Map<string, HostDevice> | undefined;

function readHostDevices(): Map<string, HostDevice> {
  if (hostDevices === undefined) {
    hostDevices = new Map();
    for (const path of MINIMAL_DEVICES) {
      const stat = statSync(path, { throwIfNoEntry: false });
      if (stat !== undefined)
        hostDevices.set(basename(path), { path, mode: stat.mode, rdev: stat.rdev });
    }
  }
  return hostDevices;
}

let hostDevicePaths: readonly string[] | undefined;

/** The devices of {@link MINIMAL_DEVICES} this host has (looked up once a process: they stay). */
export function listHostDevices(): readonly string[] {
  hostDevicePaths ??= [...readHostDevices().values()].map((device) => device.path);
  return hostDevicePaths;
}

/**
 * Makes `path` a directory (0700) when it is missing; true when it is a directory of this
 * user's that no one else can write, fit to hold what others must not change: a directory
 * planted under our name (in the shared /dev/shm, say) is refused, and so is one below a
 * symlink or a directory another user could change (root with another user's HOME), see
 * {@link openPrivateDirectory}: path-based work below it then cannot be redirected.
 */
export function ensurePrivateDirectory(path: string): boolean {
  const opened = openPrivateDirectory(path, { create: true });
  if (!('fd' in opened)) return false;
  closeSync(opened.fd);
  return true;
}

// Parents whose copies this process has opened, or could not (a `nodev` mount): tried once.
const openableCopies = new Map<string, boolean>();

/**
 * Root's own copies of the host's devices (`cp -a`), in `<parent>/devices`, for a sandbox to
 * use instead of the host's nodes. A root command owns the nodes it is given, so it could
 * `chmod` (and, where they are not mount points, remove) the host's own `/dev/null`; a
 * command can change these only, and each call checks them first and makes them again when
 * one is no longer the host's device as it was. `parent` must be private to root (see
 * {@link ensurePrivateDirectory}). Returns the directory, or undefined when device nodes
 * cannot be opened there (a `nodev` mount).
 */
export function ensureDeviceCopies(parent: string): string | undefined {
  if (openableCopies.get(parent) === false) return undefined;
  const copies = join(parent, DEVICE_COPIES_DIR);
  if (!areCopiesOf(copies, readHostDevices())) {
    rmSync(copies, { recursive: true, force: true });
    copyHostDevices(parent, copies);
  }
  if (!openableCopies.has(parent)) {
    try {
      closeSync(openSync(join(copies, 'null'), 'w'));
      openableCopies.set(parent, true);
    } catch {
      openableCopies.set(parent, false);
      return undefined;
    }
  }
  return copies;
}

// Parents findDeviceCopies found private.
const privateParents = new Set<string>();

/**
 * {@link ensureDeviceCopies} in the first place that can hold them: a private directory in
 * /dev/shm (memory), else beside the probe cache. Undefined when neither can.
 */
export function findDeviceCopies(
  env: Readonly<Record<string, string | undefined>> = process.env,
): string | undefined {
  const parents = [
    `/dev/shm/polythene-devices-${process.geteuid?.() ?? 0}`,
    join(dirname(resolveProbeCachePath(env)), 'device-copies'),
  ];
  for (const parent of parents) {
    try {
      // Once found private, a parent stays so (only its owner can change it): a recursive
      // mkdir and an lstat on every run would cost 0.1 ms.
      if (!privateParents.has(parent) && !ensurePrivateDirectory(parent)) continue;
      privateParents.add(parent);
      const copies = ensureDeviceCopies(parent);
      if (copies !== undefined) return copies;
    } catch {
      // Not writable here (or no longer there): try the next place, and check it again later.
      privateParents.delete(parent);
    }
  }
  return undefined;
}

let deviceCopyNames: string[] | undefined;

/** The names of the device copies {@link ensureDeviceCopies} makes (`null`, `zero`, …). */
export function listDeviceCopyNames(): string[] {
  deviceCopyNames ??= [...readHostDevices().keys()];
  return deviceCopyNames;
}

function areCopiesOf(copies: string, expected: ReadonlyMap<string, HostDevice>): boolean {
  for (const [name, device] of expected) {
    const stat = lstatSync(join(copies, name), { throwIfNoEntry: false });
    if (stat?.mode !== device.mode || stat.rdev !== device.rdev || stat.uid !== 0) return false;
  }
  return true;
}

// Node cannot make device nodes: `cp -a` does, into a directory of this process's (named
// `<pid>-…` for sweeps of gone processes), renamed into place, so that a concurrent run sees
// either no copies or all of them. Once a boot in /dev/shm, so child_process is loaded rarely.
function copyHostDevices(parent: string, copies: string): void {
  // What a copying process killed mid-way left behind.
  for (const name of readdirSync(parent)) {
    const pid = Number(/^(\d+)-devices-/.exec(name)?.[1]);
    if (pid > 0 && !isProcessAlive(pid))
      rmSync(join(parent, name), { recursive: true, force: true });
  }
  const staging = mkdtempSync(join(parent, `${process.pid}-devices-`));
  const { spawnSync } = process.getBuiltinModule('node:child_process');
  const copy = spawnSync('cp', ['-a', '--', ...listHostDevices(), staging], {
    env: { PATH: '/usr/bin:/bin' },
    stdio: 'ignore',
  });
  try {
    if (copy.status !== 0) throw new Error(`cp -a of the host's devices exited ${copy.status}`);
    renameSync(staging, copies);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    // Another run put its copies in place first.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
  }
}
