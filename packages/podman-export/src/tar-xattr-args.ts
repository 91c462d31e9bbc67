/**
 * GNU tar options for the extended attributes a tree keeps when it is pulled, saved or loaded:
 * `user.*` and, where the writer may set it (root, or root of a user namespace), the file
 * capabilities in `security.capability` (Debian's ping has `cap_net_raw`). Never `trusted.*`
 * or `security.*` otherwise, and never `user.overlay.*`: an image must not hand overlayfs
 * whiteouts, opaque directories or redirects of its own making when its tree becomes a layer.
 */
export function tarXattrArgs(withCapabilities: boolean): string[] {
  return [
    '--xattrs',
    '--xattrs-include=user.*',
    ...(withCapabilities ? ['--xattrs-include=security.capability'] : []),
    '--xattrs-exclude=user.overlay.*',
  ];
}
