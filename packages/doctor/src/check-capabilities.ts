import type { DoctorCheck } from './doctor-types.ts';

const CAP_SYS_ADMIN_BIT = 21n;

/** The effective capability mask from `/proc/self/status` text, or undefined. */
export function parseEffectiveCapabilities(status: string): bigint | undefined {
  const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  return hex === undefined ? undefined : BigInt(`0x${hex}`);
}

/**
 * Root without CAP_SYS_ADMIN (a container started without it, or `capsh --drop`) cannot
 * create the namespaces bwrap and chroot use as root. Only asked for root.
 */
export function checkRootCapabilities(status: string): DoctorCheck {
  const effective = parseEffectiveCapabilities(status);
  const hasSysAdmin = effective !== undefined && ((effective >> CAP_SYS_ADMIN_BIT) & 1n) === 1n;
  return hasSysAdmin
    ? {
        id: 'caps.sys_admin',
        group: 'user namespaces',
        title: 'CAP_SYS_ADMIN',
        state: 'ok',
        detail: 'held (root can create namespaces)',
      }
    : {
        id: 'caps.sys_admin',
        group: 'user namespaces',
        title: 'CAP_SYS_ADMIN',
        state: 'fail',
        detail: 'root without CAP_SYS_ADMIN: bwrap and chroot cannot create namespaces as root',
        fix: {
          summary:
            'give the job CAP_SYS_ADMIN, or run polythene as an unprivileged user (bwrap then uses a user namespace)',
          commands: [
            'podman run --cap-add SYS_ADMIN …   # or docker run --privileged …',
            'runuser -u USER -- polythene …',
          ],
        },
      };
}
