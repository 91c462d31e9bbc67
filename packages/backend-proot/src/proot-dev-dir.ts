import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmdirSync,
  rmSync,
  symlinkSync,
  unlinkSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import {
  BOX_HELPERS_DIR,
  DEVICE_COPIES_DIR,
  ensureDeviceCopies,
  ensurePrivateDirectory,
  isProcessAlive,
  listDeviceCopyNames,
  resolveProbeCachePath,
} from '@polythene/probe';
import { PROOT_DEVICES } from './build-proot-args.ts';
import { isOnNoexecMount } from './is-noexec-mount.ts';

/** The directory proot binds at the command's `/dev`, for one run. */
export interface ProotDevDir {
  readonly path: string;
  /**
   * True when its devices are device nodes of its own (made for root, see
   * `openProotDevDir`): proot then binds nothing onto them. False when they are empty files
   * on which the host's devices are to be bound.
   */
  readonly hasDeviceNodes: boolean;
  /** Removes it; call once the run has ended. */
  release(): void;
}

// Parents this process found private and swept: once is enough (only their owner can
// replace them, and directories of processes gone since are swept by the next process).
const checkedParents = new Set<string>();

/**
 * Makes the `/dev` a proot command sees: a host directory holding the `/proc/self/fd` links
 * (`fd`, `stdin`, `stdout`, `stderr`) and an empty file for each device, on which the host's
 * device is bound. Without it, `/dev` is the image's own directory: a write to `/dev/stderr`
 * that proot could not bind (stderr is a socket when polythene reads it) would create a file
 * in the image, and proot would make a temporary "glue" directory for every device, left in
 * /tmp whenever proot is killed.
 *
 * One for each run, because proot's emulated root may write into any directory the user owns
 * (it lifts the permission bits it would need), so what one command writes under `/dev` must
 * not be seen by the next. (Keeping an untouched one for the process's next run would save
 * 0.2 ms, but a process that is killed, as test runners kill their workers, would leave it
 * behind.) They live in a private directory of this user's, named after the polythene
 * process, and a run removes those of processes that are gone (killed mid-run). That
 * directory is in `/dev/shm` (memory: making the ten entries on a disk costs each run half a
 * millisecond), else beside the probe cache, else in the temp dir.
 *
 * For root (`withDeviceNodes`), the devices are hard links to root's copies of the host's
 * devices in the same private directory (`ensureDeviceCopies`), never binds of the host's:
 * proot runs a root command as the host's root (without capabilities), which owns the
 * host's `/dev`, so `rm /dev/null` on a bound device would remove the host's own, and
 * `chmod` change it. Where no private directory can hold device nodes (all on `nodev`
 * mounts), root falls back to binds.
 *
 * For a run on a terminal (`terminalHelper`, the host path of the terminal helper), it also
 * holds the mount points for the host's devpts and ptmx, and `.polythene` with a copy of the
 * helper, for the box to run: never the host's helpers' directory bound in, since proot
 * enforces no read-only bind and a command could change the helpers the host runs (as root,
 * when polythene is root). Such a run's `/dev` is never on a `noexec` mount.
 */
export function openProotDevDir(
  env: Readonly<Record<string, string | undefined>> = process.env,
  parents: readonly string[] = [
    `/dev/shm/polythene-proot-dev-${process.geteuid?.() ?? 0}`,
    join(dirname(resolveProbeCachePath(env)), 'proot-dev'),
  ],
  withDeviceNodes: boolean = process.geteuid?.() === 0,
  terminalHelper?: string,
): ProotDevDir {
  for (const parent of parents) {
    // proot's loader maps the helper's copy executable: not possible on a noexec mount.
    if (terminalHelper !== undefined && isOnNoexecMount(parent)) continue;
    try {
      if (!checkedParents.has(parent)) {
        if (!ensurePrivateDirectory(parent)) continue;
        removeDirsOfGoneProcesses(parent);
        checkedParents.add(parent);
      }
      if (!withDeviceNodes) return lend(makeDevDir(parent, '', undefined, terminalHelper));
      const nodes = ensureDeviceCopies(parent);
      if (nodes !== undefined) return lend(makeDevDir(parent, '', nodes, terminalHelper));
    } catch {
      // Not writable here (or no longer there): try the next place, and check it again later.
      checkedParents.delete(parent);
    }
  }
  return lend(makeDevDir(env.TMPDIR || '/tmp', 'polythene-proot-dev-', undefined, terminalHelper));
}

function lend(made: { path: string; hasDeviceNodes: boolean }): ProotDevDir {
  return { ...made, release: () => removeDevDir(made.path) };
}

function removeDirsOfGoneProcesses(parent: string): void {
  for (const name of readdirSync(parent)) {
    if (name === DEVICE_COPIES_DIR) continue;
    const pid = Number(name.slice(0, name.indexOf('-')));
    if (Number.isInteger(pid) && pid > 0 && !isProcessAlive(pid)) removeDevDir(join(parent, name));
  }
}

// What makeDevDir puts in a directory, by name: links into /proc/self/fd, then device files.
const LINKS: readonly [string, string][] = [
  ['fd', '/proc/self/fd'],
  ['stdin', '/proc/self/fd/0'],
  ['stdout', '/proc/self/fd/1'],
  ['stderr', '/proc/self/fd/2'],
];
const DEVICE_NAMES: readonly string[] = PROOT_DEVICES.map((device) => basename(device));
// For a run on a terminal (see buildProotArgs): mount points for the host's devpts and its
// ptmx, and the directory holding the copy of the terminal helper.
const TERMINAL_DIRS: readonly string[] = ['pts'];
const TERMINAL_FILES: readonly string[] = ['ptmx'];
const HELPERS_NAME = BOX_HELPERS_DIR.slice('/dev/'.length);

// Named after this process, so that a run can tell the directories of gone ones. With
// `nodes` (root's device copies, see ensureDeviceCopies), its devices are hard links to
// them; else empty files to bind the host's devices on.
function makeDevDir(
  parent: string,
  namePrefix: string,
  nodes: string | undefined,
  terminalHelper: string | undefined,
): { path: string; hasDeviceNodes: boolean } {
  const path = mkdtempSync(join(parent, `${namePrefix}${process.pid}-`));
  try {
    for (const [name, target] of LINKS) symlinkSync(target, join(path, name));
    const copied = nodes === undefined ? [] : listDeviceCopyNames();
    for (const name of DEVICE_NAMES) {
      if (nodes !== undefined && copied.includes(name)) {
        linkSync(join(nodes, name), join(path, name));
      } else {
        closeSync(openSync(join(path, name), 'wx', 0o444));
      }
    }
    if (terminalHelper !== undefined) {
      for (const name of TERMINAL_DIRS) mkdirSync(join(path, name), 0o555);
      for (const name of TERMINAL_FILES) closeSync(openSync(join(path, name), 'wx', 0o444));
      // A copy, not a link: what the command does to it stays in this run.
      const helpers = join(path, HELPERS_NAME);
      mkdirSync(helpers, 0o700);
      const copy = join(helpers, basename(terminalHelper));
      copyFileSync(terminalHelper, copy);
      chmodSync(copy, 0o555);
      chmodSync(helpers, 0o555);
    }
    // Read-only, as /dev is to a command that is not root (proot's emulated root is).
    chmodSync(path, 0o555);
    return { path, hasDeviceNodes: nodes !== undefined };
  } catch (error) {
    removeDevDir(path);
    throw error;
  }
}

// Name by name when it holds just what makeDevDir put there (the usual case, and a third of
// the system calls of a recursive removal); whatever a command added, recursively.
function removeDevDir(path: string): void {
  try {
    // chmod follows links: only ever make a real directory writable again.
    if (!lstatSync(path).isDirectory()) {
      rmSync(path, { force: true });
      return;
    }
    chmodSync(path, 0o700);
    for (const [name] of LINKS) unlinkSync(join(path, name));
    for (const name of DEVICE_NAMES) unlinkSync(join(path, name));
    for (const name of TERMINAL_FILES) rmSync(join(path, name), { force: true });
    for (const name of TERMINAL_DIRS) if (existsSync(join(path, name))) rmdirSync(join(path, name));
    removeHelpersCopy(join(path, HELPERS_NAME));
    rmdirSync(path);
  } catch {
    rmSync(path, { recursive: true, force: true });
  }
}

// The helper's copy, left as made; anything else (the command may have changed it) falls to
// the recursive removal. chmod follows links: only a real directory's mode is changed.
function removeHelpersCopy(helpers: string): void {
  let names: string[];
  try {
    if (!lstatSync(helpers).isDirectory()) return;
    chmodSync(helpers, 0o700);
    names = readdirSync(helpers);
  } catch {
    return;
  }
  for (const name of names) unlinkSync(join(helpers, name));
  rmdirSync(helpers);
}
