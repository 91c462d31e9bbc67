import { accessSync, constants, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DoctorCheck, HostPaths } from './doctor-types.ts';
import { readKnob } from './read-knob.ts';

/** Which cgroup layout the host mounts. */
export type CgroupVersion = 'v2' | 'v1' | 'none';

/** The controllers limits need. */
const LIMIT_CONTROLLERS = ['memory', 'pids', 'cpu'] as const;

/** What doctor found about cgroups: the version and where polythene could write. */
export interface CgroupFindings {
  readonly version: CgroupVersion;
  /** The controllers polythene can create child groups in (v1: writable hierarchies). */
  readonly writableControllers: readonly string[];
  /** v2: the process's own cgroup directory, when it is delegated to this user. */
  readonly delegatedPath?: string;
}

function isWritable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The cgroup version and what this user may write: a v2 unified tree with the process's own
 * cgroup delegated (writable, with the controllers enabled for it), or v1 hierarchies
 * (`pids`, `memory`, `cpu`) writable at their roots, as for root.
 */
export function findCgroups(paths: HostPaths): CgroupFindings {
  const root = paths.cgroupRoot;
  if (existsSync(join(root, 'cgroup.controllers'))) {
    // "0::/user.slice/…": the process's own group in the unified tree.
    const own = (readKnob(paths.selfCgroup) ?? '')
      .split('\n')
      .find((line) => line.startsWith('0::'))
      ?.slice(3);
    const candidates = [root, ...(own === undefined || own === '/' ? [] : [join(root, own)])];
    for (const directory of candidates.reverse()) {
      const controllers = (readKnob(join(directory, 'cgroup.controllers')) ?? '').split(/\s+/);
      if (!isWritable(directory) || !isWritable(join(directory, 'cgroup.subtree_control')))
        continue;
      return {
        version: 'v2',
        writableControllers: LIMIT_CONTROLLERS.filter((name) => controllers.includes(name)),
        delegatedPath: directory,
      };
    }
    return { version: 'v2', writableControllers: [] };
  }
  const v1 = LIMIT_CONTROLLERS.filter((name) => existsSync(join(root, name)));
  if (v1.length === 0) return { version: 'none', writableControllers: [] };
  return { version: 'v1', writableControllers: v1.filter((name) => isWritable(join(root, name))) };
}

const group = 'cgroups' as const;

/** Reports {@link findCgroups}: limits (`--memory`, `--cpus`, `--pids-limit`) are optional. */
export function checkCgroups(paths: HostPaths, isRoot: boolean): DoctorCheck[] {
  const found = findCgroups(paths);
  const version: DoctorCheck = {
    id: 'cgroups.version',
    group,
    title: 'cgroup version',
    state: found.version === 'none' ? 'warn' : 'info',
    detail:
      found.version === 'none'
        ? `no cgroup hierarchy under ${paths.cgroupRoot}`
        : found.version === 'v1'
          ? 'v1 (separate pids, memory and cpu hierarchies)'
          : 'v2 (unified)',
  };
  const missing = LIMIT_CONTROLLERS.filter((name) => !found.writableControllers.includes(name));
  const where =
    found.version === 'v2'
      ? (found.delegatedPath ?? 'no delegated cgroup')
      : `${paths.cgroupRoot}/{pids,memory,cpu}`;
  const writable: DoctorCheck =
    missing.length === 0
      ? {
          id: 'cgroups.writable',
          group,
          title: 'limits can be enforced',
          state: 'ok',
          detail: `${found.version}: ${where}`,
        }
      : {
          id: 'cgroups.writable',
          group,
          title: 'limits can be enforced',
          state: 'warn',
          detail: `${found.version}: cannot write ${missing.join(', ')} (${where}): --memory, --cpus and --pids-limit are not enforced`,
          fix:
            found.version === 'v2' && !isRoot
              ? {
                  summary: 'delegate the cgroup controllers to user sessions (systemd)',
                  commands: [
                    'sudo mkdir -p /etc/systemd/system/user@.service.d',
                    "printf '[Service]\\nDelegate=cpu cpuset io memory pids\\n' | sudo tee /etc/systemd/system/user@.service.d/delegate.conf",
                    'sudo systemctl daemon-reload   # then log in again',
                  ],
                }
              : {
                  summary:
                    'run as root, or on a cgroup v2 host that delegates a subtree to this user',
                  commands: [],
                },
        };
  return [version, writable];
}
