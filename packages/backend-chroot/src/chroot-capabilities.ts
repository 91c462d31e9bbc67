import { PolytheneError } from '@polythene/errors';
import { CONTAINER_DEFAULT_CAPABILITIES, KNOWN_CAPABILITIES } from '@polythene/probe';

// A chroot's root is the host's root (no user namespace bounds its capabilities), so it keeps
// only those that act on what the run can reach: its rootfs, its binds, and its own pid, net,
// ipc and uts namespaces.

/**
 * Capabilities a root command may hold in a chroot: podman's default set minus
 * `CAP_SYS_CHROOT` (a second chroot leaves the first), plus those `--cap-add` may add that
 * stay in the run's own namespaces.
 */
export const CHROOT_GRANTABLE_CAPABILITIES: readonly string[] = [
  ...CONTAINER_DEFAULT_CAPABILITIES.filter((name) => name !== 'CAP_SYS_CHROOT'),
  'CAP_NET_RAW',
  'CAP_NET_BROADCAST',
  'CAP_AUDIT_WRITE',
];

/**
 * The capabilities a root command keeps: `requested` (default podman's 11) without
 * `CAP_SYS_CHROOT`, which is dropped silently. Throws `POLYTHENE_SETUP_FAILED` naming any
 * other that a chroot cannot give without giving it over the host (`CAP_SYS_ADMIN`,
 * `CAP_MKNOD`, `CAP_SYS_MODULE`, …).
 */
export function chrootKeptCapabilities(
  requested: readonly string[] = CONTAINER_DEFAULT_CAPABILITIES,
): string[] {
  const wanted = requested.filter((name) => name !== 'CAP_SYS_CHROOT');
  const refused = wanted.filter((name) => !CHROOT_GRANTABLE_CAPABILITIES.includes(name));
  if (refused.length > 0) {
    throw new PolytheneError(
      'POLYTHENE_SETUP_FAILED',
      `chroot cannot give ${refused.join(', ')}: without a user namespace they act on the host; use --isolation=bwrap, whose user namespace bounds them`,
    );
  }
  return wanted;
}

/**
 * capsh's `--drop` list (lower case) for a kernel whose highest capability number is
 * `lastCap`: every capability it knows but the kept ones.
 */
export function listDroppedCapabilities(lastCap: number, kept: readonly string[]): string[] {
  return KNOWN_CAPABILITIES.slice(0, lastCap + 1)
    .filter((name) => !kept.includes(name))
    .map((name) => name.toLowerCase());
}
