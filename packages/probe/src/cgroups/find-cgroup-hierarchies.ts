import { accessSync, constants, readFileSync } from 'node:fs';
import { ownerStamp } from './run-cgroup-name.ts';

/** A resource controller polythene limits a run with. */
export type LimitController = 'pids' | 'memory' | 'cpu';

/** Which cgroup interface enforces limits here: `none` when polythene can write no cgroup. */
export type LimitsEnforcement = 'v2' | 'v1' | 'none';

/**
 * The cgroups polythene can create a run's cgroup under, per controller: the directory of
 * its own cgroup (v1: one per hierarchy; v2: one directory serving every controller).
 */
export interface CgroupHierarchies {
  readonly version: LimitsEnforcement;
  /** Per controller, the writable parent directory for run cgroups (absent: cannot limit). */
  readonly parents: Readonly<Partial<Record<LimitController, string>>>;
  /**
   * v1 only: the `cpuacct` parent when it is a hierarchy of its own (its `cpuacct.usage`
   * gives the CPU time); with `cpu,cpuacct` co-mounted the `cpu` parent has it.
   */
  readonly cpuacctParent?: string;
  /**
   * v2 only: polythene's own cgroup, where it returns after a spawn when the parent is an
   * ancestor of it (v1: the parents are its own cgroups).
   */
  readonly ownDirectory?: string;
  /** Why limits cannot be enforced (when `version` is `none`), for warnings and `backends`. */
  readonly reason?: string;
}

/** Where {@link findCgroupHierarchies} reads from; the real `/proc/self` by default (tests). */
export interface CgroupSources {
  /** `/proc/self/mountinfo`'s text. */
  readonly mountinfo: string;
  /** `/proc/self/cgroup`'s text. */
  readonly cgroup: string;
}

const CONTROLLERS: readonly LimitController[] = ['pids', 'memory', 'cpu'];

/**
 * Finds, from polythene's own cgroup membership and the cgroup mounts, where it can create
 * a cgroup for a run: cgroup v1 hierarchies (`pids`, `memory`, `cpu`) whose own cgroup
 * directory it may write (root), else a cgroup v2 directory (its own or the nearest writable
 * ancestor, a delegated subtree) whose `cgroup.subtree_control` enables the controllers.
 * Two small file reads, no process spawned.
 */
export function findCgroupHierarchies(sources?: CgroupSources): CgroupHierarchies {
  let text: CgroupSources;
  try {
    text = sources ?? {
      mountinfo: readFileSync('/proc/self/mountinfo', 'utf8'),
      cgroup: readFileSync('/proc/self/cgroup', 'utf8'),
    };
  } catch {
    return { version: 'none', parents: {}, reason: 'no /proc/self/cgroup here' };
  }
  const mounts = parseCgroupMounts(text.mountinfo);
  const membership = outsideOwnRunCgroups(parseCgroupMembership(text.cgroup));
  const v1 = findV1Parents(mounts, membership);
  if (v1.parents.pids !== undefined) return v1;
  const v2 = findV2Parent(mounts, membership);
  if (v2 !== undefined) return v2;
  return {
    version: 'none',
    parents: {},
    reason:
      v1.reason ??
      'no writable cgroup (cgroup v1 needs root; cgroup v2 a delegated subtree with the pids controller)',
  };
}

export interface CgroupMount {
  readonly mountPoint: string;
  /** The path inside the hierarchy that is mounted there (usually `/`). */
  readonly root: string;
  readonly isV2: boolean;
  /** v1: the controllers of the hierarchy (from the super options). */
  readonly controllers: readonly string[];
}

export function parseCgroupMounts(mountinfo: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    const separator = line.indexOf(' - ');
    if (separator < 0) continue;
    const fields = line.slice(0, separator).split(' ');
    const [fsType, , superOptions = ''] = line.slice(separator + 3).split(' ');
    if (fsType !== 'cgroup' && fsType !== 'cgroup2') continue;
    const root = unescapeMountPath(fields[3] ?? '/');
    const mountPoint = unescapeMountPath(fields[4] ?? '');
    mounts.push({
      mountPoint,
      root,
      isV2: fsType === 'cgroup2',
      controllers: fsType === 'cgroup' ? superOptions.split(',') : [],
    });
  }
  return mounts;
}

// mountinfo writes space, tab, newline and backslash in paths as octal escapes.
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) =>
    String.fromCharCode(Number.parseInt(octal, 8)),
  );
}

/** `/proc/self/cgroup`: hierarchy controllers (`''` for v2) → own cgroup path. */
export function parseCgroupMembership(text: string): Map<string, string> {
  const membership = new Map<string, string>();
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const path = line.slice(second + 1);
    for (const controller of line.slice(first + 1, second).split(',')) {
      membership.set(controller, path);
    }
  }
  return membership;
}

/**
 * The membership with this process's own run cgroups taken off the end of each path: called
 * while its thread sits in one of them (the CLI's launcher entered one before the CLI ran),
 * the parent is where it belongs, and a new run's cgroup must not nest inside the other.
 * Run cgroups of other polythene processes (a box's) are kept: those are real limits.
 */
function outsideOwnRunCgroups(membership: Map<string, string>): Map<string, string> {
  const own = `${ownerStamp()}-`;
  for (const [controller, path] of membership) {
    const parts = path.split('/');
    while (parts.length > 1 && (parts.at(-1) ?? '').startsWith(own)) parts.pop();
    membership.set(controller, parts.join('/') || '/');
  }
  return membership;
}

function findV1Parents(
  mounts: readonly CgroupMount[],
  membership: ReadonlyMap<string, string>,
): CgroupHierarchies & { reason?: string } {
  const parents: Partial<Record<LimitController, string>> = {};
  let reason: string | undefined;
  const directoryFor = (controller: string): string | undefined => {
    const mount = mounts.find((entry) => !entry.isV2 && entry.controllers.includes(controller));
    const own = membership.get(controller);
    if (mount === undefined || own === undefined) return undefined;
    const directory = joinCgroupPath(mount, own);
    if (directory === undefined) return undefined;
    if (!isWritable(directory)) {
      reason ??= `cgroup v1 ${directory} is not writable (limits need root here)`;
      return undefined;
    }
    return directory;
  };
  for (const controller of CONTROLLERS) {
    const directory = directoryFor(controller);
    if (directory !== undefined) parents[controller] = directory;
  }
  const cpuacct = directoryFor('cpuacct');
  return {
    version: 'v1',
    parents,
    ...(cpuacct !== undefined && cpuacct !== parents.cpu ? { cpuacctParent: cpuacct } : {}),
    ...(reason !== undefined ? { reason } : {}),
  };
}

function findV2Parent(
  mounts: readonly CgroupMount[],
  membership: ReadonlyMap<string, string>,
): CgroupHierarchies | undefined {
  const mount = mounts.find((entry) => entry.isV2);
  const own = membership.get('');
  if (mount === undefined || own === undefined) return undefined;
  // From polythene's own cgroup upwards: the nearest directory it may create cgroups in
  // whose children get the pids controller (a delegated subtree, or root's own hierarchy).
  let path = own;
  for (;;) {
    const directory = joinCgroupPath(mount, path);
    if (directory !== undefined && isWritable(directory)) {
      const enabled = readSubtreeControl(directory);
      if (enabled.includes('pids')) {
        const parents: Partial<Record<LimitController, string>> = {};
        for (const controller of CONTROLLERS) {
          if (enabled.includes(controller)) parents[controller] = directory;
        }
        const ownDirectory = joinCgroupPath(mount, own);
        return { version: 'v2', parents, ...(ownDirectory !== undefined ? { ownDirectory } : {}) };
      }
    }
    if (path === '/' || path === '') return undefined;
    path = path.slice(0, path.lastIndexOf('/')) || '/';
  }
}

function readSubtreeControl(directory: string): string[] {
  try {
    return readFileSync(`${directory}/cgroup.subtree_control`, 'utf8').trim().split(/\s+/);
  } catch {
    return [];
  }
}

/** The host directory of cgroup `path` in `mount`, or undefined when the mount hides it. */
export function joinCgroupPath(mount: CgroupMount, path: string): string | undefined {
  const root = mount.root === '/' ? '' : mount.root;
  if (root !== '' && path !== root && !path.startsWith(`${root}/`)) return undefined;
  const inside = path.slice(root.length);
  if (inside.split('/').includes('..')) return undefined;
  return `${mount.mountPoint}${inside === '/' ? '' : inside}`;
}

function isWritable(directory: string): boolean {
  try {
    accessSync(directory, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
