import { requireNativeHelper } from '@polythene/native';
import type { IdMap } from '../ids/plan-id-map.ts';
import type { OverlayMount } from '../ids/wrap-in-user-namespace.ts';

/** The native helper every backend process is started through (`native/polythene-exec-guard.c`). */
export const EXEC_GUARD_HELPER = 'polythene-exec-guard';

/** What the exec guard does beyond what it always does (see {@link wrapWithExecGuard}). */
export interface ExecGuardOptions {
  /**
   * Deny (ENOSYS) the system calls proot 5.1 does not translate (openat2, statx, faccessat2,
   * fchmodat2, io_uring, pidfd_getfd, process_vm_readv/writev, the new mount API, …), so libc
   * falls back to calls it does translate and nothing reaches host paths behind its back.
   */
  readonly denyUntranslatedSyscalls?: boolean;
  /**
   * Stay as the backend's parent, a child subreaper: when the command (the backend's first
   * child) ends, every process it left is killed, those that left its process group included;
   * SIGTERM to the guard, or polythene's death, kills the whole tree. For backends without a
   * pid namespace (proot).
   */
  readonly reapTree?: boolean;
  /**
   * First become uid 0 of a new user namespace with this map (newuidmap/newgidmap write it,
   * which must happen before the guard sets no_new_privs: they are setuid).
   */
  readonly userNamespace?: IdMap;
  /**
   * With {@link userNamespace}: then give the box a network namespace of its own, owned by
   * that user namespace, with the loopback up and `net.ipv4.ping_group_range` "0 0" (as
   * podman sets it); the backend then must not make one itself.
   */
  readonly ownNetwork?: boolean;
  /**
   * With {@link userNamespace}: then mount this overlay root in a private mount namespace
   * there (with `userxattr`), instead of `unshare`, a shell and `mount` in front of the backend.
   */
  readonly overlay?: OverlayMount;
}

/**
 * The command line that starts `file args` through the exec guard: every inherited file
 * descriptor but 0–2 and the backend's own channels (`keptFdCount` of them, from fd 3) is
 * closed, the process joins a fresh session keyring and may not use keyring system calls
 * (the box reads no key of the caller's session or user keyring), plus `options`. A missing
 * guard is a `POLYTHENE_SETUP_FAILED` error naming those guarantees.
 */
export function wrapWithExecGuard(
  file: string,
  args: readonly string[],
  keptFdCount: number,
  options: ExecGuardOptions = {},
): { readonly file: string; readonly args: string[] } {
  const guard = requireNativeHelper(
    EXEC_GUARD_HELPER,
    "that the command receives no inherited file descriptor and no key of the caller's keyrings",
  );
  const guardArgs: string[] = ['--keyring'];
  for (let fd = 3; fd < 3 + keptFdCount; fd += 1) guardArgs.push('--keep-fd', String(fd));
  if (options.denyUntranslatedSyscalls) guardArgs.push('--deny-untranslated');
  if (options.reapTree) guardArgs.push('--reap');
  const map = options.userNamespace;
  if (map !== undefined) {
    guardArgs.push('--uid-map', map.uidMap, '--gid-map', map.gidMap);
    if (map.newuidmap !== undefined && map.newgidmap !== undefined) {
      guardArgs.push('--newuidmap', map.newuidmap, '--newgidmap', map.newgidmap);
    }
    if (options.ownNetwork) guardArgs.push('--own-network');
    if (options.overlay)
      guardArgs.push('--overlay', options.overlay.options, options.overlay.target);
  }
  return { file: guard, args: [...guardArgs, '--', file, ...args] };
}
