import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { BackendDescription } from '@polythene/probe';
import { findExecutable } from '@polythene/probe';
import { checkBackends } from './check-backends.ts';
import { checkRootCapabilities } from './check-capabilities.ts';
import { checkCgroups } from './check-cgroups.ts';
import { checkNetworkTools } from './check-network-tools.ts';
import { checkPodman } from './check-podman.ts';
import { checkStore } from './check-store.ts';
import { checkSubordinateIds } from './check-subordinate-ids.ts';
import { checkUserNamespaces } from './check-user-namespaces.ts';
import {
  type DoctorCheck,
  type DoctorUser,
  type HostPaths,
  REAL_HOST_PATHS,
} from './doctor-types.ts';

/** What doctor is told by its caller: the parts that need the registry and the store. */
export interface DoctorOptions {
  /** Every registered backend, probed afresh, default backend first. */
  readonly backends: readonly BackendDescription[];
  /** The store directory polythene would use. */
  readonly storeDir: string;
  /** The environment: PATH for finding tools. */
  readonly hostEnv: Readonly<Record<string, string | undefined>>;
  /** The environment podman runs with (polythene's podman defaults applied). */
  readonly podmanEnv: Readonly<Record<string, string>>;
  /** Who to check for; defaults to the running user. */
  readonly user?: DoctorUser;
  /** Where to read the host; real paths by default. */
  readonly paths?: HostPaths;
}

/** The whole report. */
export interface DoctorReport {
  /** True when no check failed: the default backend gives its isolation guarantees here. */
  readonly ok: boolean;
  readonly checks: readonly DoctorCheck[];
}

/** The running user, with its login name from the environment or `id -un`. */
export function findRunningUser(hostEnv: Readonly<Record<string, string | undefined>>): DoctorUser {
  const uid = process.getuid?.() ?? -1;
  const gid = process.getgid?.() ?? -1;
  const fromId = spawnSync('id', ['-un'], { encoding: 'utf8' });
  const name =
    fromId.status === 0 && fromId.stdout.trim() !== ''
      ? fromId.stdout.trim()
      : (hostEnv.USER ?? hostEnv.LOGNAME ?? String(uid));
  return { uid, gid, name };
}

// A real trial, as bwrap would do it for an unprivileged user: a new user namespace with
// this user mapped to root (Ubuntu's AppArmor restriction refuses the map, not the unshare).
function tryUserNamespace(unshare: string | undefined): { canCreate: boolean; error?: string } {
  if (unshare === undefined) return { canCreate: false, error: 'unshare (util-linux) not found' };
  const result = spawnSync(unshare, ['--user', '--map-root-user', 'true'], {
    encoding: 'utf8',
    timeout: 10_000,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  if (result.status === 0) return { canCreate: true };
  const error = (result.stderr ?? '').trim().split('\n').pop() ?? '';
  return { canCreate: false, ...(error === '' ? {} : { error }) };
}

/**
 * Checks everything that decides what polythene can do for this user on this host, each
 * with its state and, where something is missing, the exact fix. Reads only; see
 * `applyDoctorFixes` for `--fix`.
 */
export function runDoctor(options: DoctorOptions): DoctorReport {
  const paths = options.paths ?? REAL_HOST_PATHS;
  const user = options.user ?? findRunningUser(options.hostEnv);
  const isRoot = user.uid === 0;
  const find = (name: string) => findExecutable(name, options.hostEnv);
  const bwrap = find('bwrap');
  const unshare = find('unshare');
  const namespaceBinaries = [bwrap, unshare].filter((path): path is string => path !== undefined);
  const capabilities = isRoot
    ? [checkRootCapabilities(readFileSync(paths.selfStatus, 'utf8'))]
    : [];
  const checks: DoctorCheck[] = [
    ...capabilities,
    ...checkUserNamespaces({ paths, isRoot, namespaceBinaries, ...tryUserNamespace(unshare) }),
    ...checkSubordinateIds({
      paths,
      user,
      newuidmap: find('newuidmap'),
      newgidmap: find('newgidmap'),
    }),
    ...checkBackends(
      options.backends,
      capabilities.some((check) => check.state === 'fail'),
    ),
    ...checkPodman({ podman: find('podman'), env: options.podmanEnv, isRoot }),
    ...checkCgroups(paths, isRoot),
    ...checkNetworkTools({ paths, slirp4netns: find('slirp4netns'), pasta: find('pasta') }),
    ...checkStore(options.storeDir, user),
  ];
  return { ok: !checks.some((check) => check.state === 'fail'), checks };
}
