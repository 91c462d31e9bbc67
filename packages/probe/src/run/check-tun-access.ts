import { accessSync, constants, statSync } from 'node:fs';

/** The device slirp4netns opens to make the box's tap interface. */
export const TUN_DEVICE = '/dev/net/tun';

/**
 * Why this (unprivileged) user cannot open the tun device, or undefined when it can. slirp4netns
 * opens it inside the box's user namespace, with this user's rights on the host's device: a
 * device of mode 0600 (some hardened hosts) fails there with a bare "Permission denied".
 */
export function checkTunAccess(path: string = TUN_DEVICE): string | undefined {
  try {
    accessSync(path, constants.R_OK | constants.W_OK);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return describeTunProblem(path, code, statSync(path, { throwIfNoEntry: false })?.mode);
  }
}

/** The one-line reason for {@link checkTunAccess}, from the error code and the device's mode. */
export function describeTunProblem(
  path: string,
  code: string | undefined,
  mode: number | undefined,
): string {
  if (code === 'ENOENT') {
    return `${path} does not exist: as root, load the tun module (modprobe tun); or use --network host`;
  }
  const shown = mode === undefined ? '' : ` (mode ${(mode & 0o777).toString(8).padStart(4, '0')})`;
  return `${path}${shown} cannot be opened by this user (${code ?? 'error'}): an unprivileged private network needs it readable and writable by all, mode 0666 as distributions ship it (as root: chmod 0666 ${path}); or run as root, or use --network host`;
}
