import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The kernel settings that decide whether an unprivileged user may create user namespaces,
 * as read from `/proc/sys`. A knob this kernel does not have is `undefined` (Debian's
 * `unprivileged_userns_clone` and Ubuntu's `apparmor_restrict_unprivileged_userns` exist
 * only on some kernels).
 */
export interface UserNamespaceKnobs {
  /** `user.max_user_namespaces`: 0 refuses every new user namespace. */
  readonly maxUserNamespaces: string | undefined;
  /** Debian's `kernel.unprivileged_userns_clone`: 0 refuses unprivileged users. */
  readonly unprivilegedUsernsClone: string | undefined;
  /**
   * Ubuntu's `kernel.apparmor_restrict_unprivileged_userns`: 1 lets only programs with an
   * AppArmor profile allowing `userns` use what they create (Ubuntu 24.04's default).
   */
  readonly apparmorRestrictUnprivilegedUserns: string | undefined;
}

function readKnob(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Reads {@link UserNamespaceKnobs} under `procSys` (default `/proc/sys`; tests pass a tree). */
export function readUserNamespaceKnobs(procSys = '/proc/sys'): UserNamespaceKnobs {
  return {
    maxUserNamespaces: readKnob(join(procSys, 'user/max_user_namespaces')),
    unprivilegedUsernsClone: readKnob(join(procSys, 'kernel/unprivileged_userns_clone')),
    apparmorRestrictUnprivilegedUserns: readKnob(
      join(procSys, 'kernel/apparmor_restrict_unprivileged_userns'),
    ),
  };
}
