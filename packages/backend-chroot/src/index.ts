export type { ChrootArgsOptions, ChrootHostDev, ChrootMount } from './build-chroot-args.ts';
export {
  buildChrootArgs,
  buildChrootMountTable,
  KERNEL_PROC_ENTRIES,
} from './build-chroot-args.ts';
export {
  CHROOT_GRANTABLE_CAPABILITIES,
  chrootKeptCapabilities,
  listDroppedCapabilities,
} from './chroot-capabilities.ts';
export { createChrootBackend } from './create-chroot-backend.ts';
export type { ChrootDetails } from './probe-chroot.ts';
export {
  chrootArgsOptionsFrom,
  chrootHostDev,
  hasUsualDevLinks,
  probeChroot,
  readChrootDetails,
} from './probe-chroot.ts';
